// Onepane agent console: one search box, documents generated from the served model, one screen.
// Plain browser JavaScript, no build step. Every value from the API goes into the page as text
// (textContent / createTextNode), never as HTML. The GraphQL documents come from
// GET /console/document (built from the model for the caller's role, on the gateway's allow-list):
// fields and relations a config adds show up here without a change to this file.
"use strict";

(() => {
  const ENDPOINT = new URL("../graphql", document.baseURI).href;
  const DOCUMENT_URL = new URL("document", document.baseURI).href;
  const KEY_STORE = "onepane.apiKey";
  const RECENT_STORE = "onepane.recentSearches";
  const RECENT_MAX = 8;
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- what the search box understands

  const LABELS = { email: "email", phone: "phone", name: "name", loyaltyNumber: "loyalty number",
    orderNumber: "order number", sourceRef: "source reference" };

  // Returns the arguments to try, all in one document; `forced` names one (a screen-pop link).
  function detect(raw, forced) {
    const term = raw.trim().replace(/\s+/g, " ");
    if (!term) return null;
    if (forced) return { mode: "customers", term, tries: [{ arg: forced, label: LABELS[forced] || forced }] };
    const card = term.match(/^(\d{4}) (\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?(?: £?(\d+(?:\.\d{1,2})?))?$/);
    if (card) return cardSearch(term, card);
    const tries = [];
    const digits = term.replace(/[\s().-]/g, "");
    if (term.includes("@")) tries.push("email");
    else if (/^[a-z][a-z0-9_-]*:\S+$/i.test(term)) tries.push("sourceRef");
    else if (/^\+?\d{6,15}$/.test(digits)) {
      tries.push("phone");
      if (/^\d+$/.test(digits) && !digits.startsWith("0")) tries.push("loyaltyNumber");
    } else if (/\d/.test(term)) tries.push("orderNumber");
    else tries.push("name");
    return { mode: "customers", term, tries: tries.map((arg) => ({ arg, label: LABELS[arg] })) };
  }

  function cardSearch(term, m) {
    const [, last4, y, mo, d, hh, mm, amount] = m;
    let from, to, when;
    if (hh !== undefined) {
      const at = new Date(+y, +mo - 1, +d, +hh, +mm);
      from = new Date(at.getTime() - 30 * 60000);
      to = new Date(at.getTime() + 30 * 60000);
      when = `${y}-${mo}-${d} ${hh}:${mm} ± 30 min`;
    } else {
      from = new Date(+y, +mo - 1, +d);
      to = new Date(+y, +mo - 1, +d + 1);
      when = `${y}-${mo}-${d}`;
    }
    const filter = { cardLast4: last4, placedFrom: iso(from), placedTo: iso(to) };
    if (amount) filter.amount = amount;
    const label = `card ending ${last4} on ${when}${amount ? ` for ${amount}` : ""}`;
    return { mode: "purchases", term, filter, tries: [{ arg: "purchases", label }] };
  }

  const iso = (date) => date.toISOString().replace(/\.\d{3}Z$/, "+00:00");

  // The generated document for this search, or null when the role may not run it.
  function buildDocument(search) {
    const documents = served?.documents || {};
    if (search.mode === "purchases") {
      return documents.card ? { query: documents.card, variables: { filter: search.filter } } : null;
    }
    const query = documents[`search.${search.tries.map((t) => t.arg).join("+")}`];
    if (!query) return null;
    const variables = {};
    for (const t of search.tries) variables[t.arg] = search.term;
    return { query, variables };
  }

  // ---------------------------------------------------------------- talking to the gateway

  function headers() {
    const out = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) out["X-Api-Key"] = key;
    return out;
  }

  async function graphql(body, signal) {
    const response = await fetch(ENDPOINT, { method: "POST", headers: { ...headers(), "Content-Type": "application/json" },
      body: JSON.stringify(body), signal });
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    return { status: response.status, json: json || {} };
  }

  // The role's documents, the layout of every entity and the words for each source; asked once per key.
  let served = null;
  async function loadDocuments() {
    if (served) return { status: 200 };
    const response = await fetch(DOCUMENT_URL, { headers: headers() });
    if (!response.ok) return { status: response.status };
    served = await response.json();
    return { status: 200 };
  }

  async function decide(kind, a, b, reason) {
    const field = kind === "link" ? "linkRecords" : "unlinkRecords";
    const { status, json } = await graphql({ query: served.documents[field], variables: { a, b, reason } });
    const error = (json.errors || [])[0];
    if (status >= 400 || error || !json.data?.[field]) {
      throw new Error(error ? error.message : `the gateway answered ${status}`);
    }
    return json.data[field];
  }

  // ---------------------------------------------------------------- DOM helpers (text only)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    EMAIL: "M2 4h12v8H2z M2 4l6 5 6-5",
    CHAT: "M2 3h12v8H7l-3 3v-3H2z",
    PHONE: "M4 2l2 3-1.5 1.5a8 8 0 0 0 5 5L11 10l3 2-1 2.5C7 15 1 9 1.5 3z",
    SOCIAL: "M5 2v12 M11 2v12 M2 5.5h12 M2 10.5h12",
    SMS: "M2 3h12v8H6l-4 3z M5 7h6",
    WHATSAPP: "M8 1.5a6.5 6.5 0 1 1-3.2 12.2L1.5 14.5l.8-3.2A6.5 6.5 0 0 1 8 1.5z M6 5.5c0 3 1.5 4.5 4.5 4.5",
    STORE: "M2 6h12v8H2z M1 6l2-4h10l2 4 M6 14v-4h4v4",
    WEB: "M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z M1.5 8h13 M8 1.5c2.5 3 2.5 10 0 13 M8 1.5c-2.5 3-2.5 10 0 13",
    DELIVERY: "M1 4h9v7H1z M10 7h3l2 2v2h-5 M4 13a1.5 1.5 0 1 0 0-.1 M12 13a1.5 1.5 0 1 0 0-.1",
    PAYMENT: "M1 4h14v9H1z M1 7h14 M3 11h4",
    CASE: "M2 5h12v9H2z M5 5V2h6v3 M2 9h12",
    PURCHASE: "M3 5h10l-1 9H4z M6 5V3.5a2 2 0 0 1 4 0V5",
    OTHER: "M8 2a6 6 0 1 0 0 12A6 6 0 0 0 8 2z",
  };

  function icon(name, label) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("class", "icon");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", ICONS[name] || ICONS.OTHER);
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------- agent wording

  // OUT_FOR_DELIVERY → "Out for delivery"; the raw value stays on hover.
  function words(value) {
    if (value === null || value === undefined) return "";
    const text = String(value).replace(/_/g, " ").toLowerCase();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function plural(entity) {
    const text = entity.replace(/(?<=[a-z0-9])(?=[A-Z])/g, " ").toLowerCase();
    if (/[^aeiou]y$/.test(text)) return text.slice(0, -1) + "ies";
    if (/(s|x|ch|sh)$/.test(text)) return text + "es";
    return text + "s";
  }

  function listWords(items) {
    if (items.length <= 1) return items.join("");
    return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
  }

  // A status as a word with a colour; the raw values (as each system wrote them) on hover.
  function status(value, raws) {
    const raw = raws && raws.length ? raws.join(" · ") : value || "unknown";
    return el("span", { class: `status s-${String(value || "unknown").toLowerCase()}`, title: raw,
      "data-raw": value || "" }, value ? words(value) : "Unknown");
  }

  const EXACT = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  const DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const RELATIVE = new Intl.RelativeTimeFormat("en-GB", { numeric: "auto" });
  // Months up to two years ("13 months ago" says more than "last year"), then years.
  const UNITS = [["year", 730 * 86400, 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400], ["day", 86400],
    ["hour", 3600], ["minute", 60]];

  function ago(date) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    for (const [unit, from, size] of UNITS) {
      if (Math.abs(seconds) >= from) return RELATIVE.format(Math.round(seconds / (size || from)), unit);
    }
    return "just now";
  }

  // A time as "3 days ago", the exact time on hover.
  function when(value) {
    if (!value) return null;
    const date = new Date(value);
    if (isNaN(date)) return el("span", { title: value }, value);
    return el("time", { datetime: value, title: EXACT.format(date) }, ago(date));
  }

  // A calendar date as "27 Nov 2028", how far away on hover.
  function day(value) {
    if (!value) return null;
    const date = new Date(`${value}T00:00:00Z`);
    if (isNaN(date)) return el("span", null, value);
    return el("time", { datetime: value, title: ago(date) }, DAY.format(date));
  }

  function wait(seconds) {
    if (seconds === null || seconds === undefined) return null;
    const s = Number(seconds);
    let text;
    if (s < 60) text = `${s} s`;
    else if (s < 3600) text = `${Math.round(s / 60)} min`;
    else if (s < 86400) text = `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    else text = `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
    return el("span", { class: `wait${s >= 3600 ? " long" : ""}`, title: `${s} seconds` }, `waited ${text}`);
  }

  const money = (m) => (m ? `${m.amount} ${m.currency}` : "—");
  const sourceLabel = (name) => served?.sources?.[name]?.label || name;
  const sourceBadge = (source, localId) => el("span", { class: "src", "data-source": source,
    title: localId ? `${sourceLabel(source)} record ${localId}` : null }, sourceLabel(source));
  const section = (cls, title, ...children) => el("section", { class: `panel ${cls}`, "aria-label": title },
    el("h3", null, title), ...children);
  const notAvailable = () => el("span", { class: "na", title: "a system did not answer for this" }, "not available");

  // One value of a field, formatted as the layout says (money, status, date, time, yes/no, list).
  function formatted(value, field) {
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) return null;
    if (Array.isArray(value)) {
      const shown = value.slice(0, 3).map((v) => formatted(v, { ...field, list: false }));
      const parts = [];
      shown.forEach((v, i) => { if (i) parts.push(", "); parts.push(v); });
      if (value.length > 3) parts.push(el("span", { class: "more", title: value.join(", ") }, ` +${value.length - 3} more`));
      return el("span", null, ...parts);
    }
    switch (field.format) {
      case "money": return money(value);
      case "status": return status(value);
      case "datetime": return when(value);
      case "date": return day(value);
      case "yesno": return value ? "yes" : "no";
      default: return typeof value === "object" ? JSON.stringify(value) : String(value);
    }
  }

  // ---------------------------------------------------------------- which parts failed to load

  // Paths of the answer that came back with an error: those places read "not available".
  function failures(json) {
    const paths = [];
    for (const e of json.errors || []) if (Array.isArray(e.path)) paths.push(e.path.join("."));
    return (path) => {
      const key = path.join(".");
      return paths.some((p) => p === key || p.startsWith(`${key}.`));
    };
  }

  // "Cases not available — CRM and helpdesk API is not answering": in place of an empty panel.
  function gapNote(what, gap, rows) {
    if (!gap) return null;
    const who = gap.length ? ` — ${listWords(gap)} ${gap.length > 1 ? "are" : "is"} not answering` : "";
    return el("p", { class: "gap muted" }, rows ? `${what} may be incomplete${who}.` : [`${what} `, notAvailable(), `${who}.`]);
  }

  const layoutOf = (entity) => served?.layout?.entities?.[entity] || { fields: [], relations: [] };

  // ---------------------------------------------------------------- the sources strip

  function sourceStates(json) {
    const seen = json.extensions?.sources || {};
    const states = {};
    for (const [name, s] of Object.entries(seen)) {
      let state = "idle";
      if (s.ok === false || s.error) state = "failed";
      else if (s.stale > 0) state = "stale";
      else if (s.calls > 0 || s.cacheHits > 0) state = "answered";
      states[name] = { state, ms: s.ms, code: s.error?.code || "", asOf: s.asOf, old: s.pastMaxAge };
    }
    for (const error of json.errors || []) {
      const name = error.extensions?.source;
      if (!name || error.extensions?.kept) continue; // a value served as written: the source answered
      states[name] = { ...(states[name] || {}), state: "failed", code: error.extensions?.code || "" };
    }
    return states;
  }

  const asOf = (iso) => iso.slice(0, 16).replace("T", " ");
  const STATE_TEXT = { answered: "answered", stale: "answered from its last copy", failed: "not answering",
    idle: "not asked" };

  // "Helpdesk is not answering — cases may be missing": the source's own description, never its URL.
  function failureWords(name) {
    const entities = served?.sources?.[name]?.entities || [];
    const what = entities.length ? listWords(entities.map(plural)) : "some details";
    return `${sourceLabel(name)} is not answering — ${what} may be missing`;
  }

  function renderSources(states) {
    const strip = $("sources");
    strip.replaceChildren();
    const names = Object.keys(states);
    if (!names.length) return;
    strip.append(el("span", { class: "label" }, "Systems"));
    const list = el("ul");
    for (const name of names) {
      const s = states[name];
      const ms = typeof s.ms === "number" && s.state !== "idle" ? ` in ${Math.round(s.ms)} ms` : "";
      list.append(el("li", { class: `source ${s.state}`, "data-source": name, "data-state": s.state,
        title: `${STATE_TEXT[s.state]}${ms}${s.code ? ` (${s.code})` : ""}` }, sourceLabel(name),
        // An export-fed system: when its copy was made, and whether that is older than its max_age.
        s.asOf ? el("span", { class: `as-of${s.old ? " old" : ""}` },
          ` · as of ${asOf(s.asOf)}${s.old ? " (out of date)" : ""}`) : null));
    }
    strip.append(list);
  }

  // ---------------------------------------------------------------- the first screen

  const OPEN_CASES = new Set(["OPEN", "PENDING", "UNKNOWN"]);
  const BAD_DELIVERY = new Set(["MISSED", "FAILED", "CANCELLED", "RESCHEDULED"]);

  function orderName(p) { return p.orderNumber ? `Order ${p.orderNumber}` : `Store sale ${p.store?.name ? `at ${p.store.name}` : ""}`.trim(); }

  function renderCustomer(c, ctx) {
    const path = c.__path || [];
    // A place is "not available" when its own path failed, or when a system holding that entity is down.
    const failed = (...rest) => ctx.failed([...path, ...rest]);
    const gap = (relation, entity) => (failed(relation) || ctx.missingFrom(entity).length ? ctx.missingFrom(entity) : null);
    const summary = el("section", { class: "overview", "aria-label": "Summary" },
      renderWho(c, failed), renderAttention(c, ctx, failed), renderLatest(c.timeline || [], failed("timeline")));
    const details = el("div", { class: "details" });
    const columns = el("div", { class: "columns" },
      el("div", { class: "side" }, renderPurchases(c.purchases || [], ctx.highlight, gap("purchases", "Purchase"))),
      renderTimeline(c.timeline || [], failed("timeline")));
    details.append(columns);
    const more = renderMoreFields(c, failed);
    if (more) details.append(more);
    if (c.cases !== undefined) details.append(renderCases(c.cases || [], gap("cases", "Case")));
    for (const rel of layoutOf("Customer").relations) {
      if (rel.name === "purchases" || rel.name === "cases") continue;
      details.append(renderRelationPanel(rel, c[rel.name], [...path, rel.name], ctx, gap(rel.name, rel.entity)));
    }
    const conflicts = renderConflicts(c);
    if (conflicts) details.append(conflicts);
    if (c.possibleMatches && c.possibleMatches.length) details.append(renderMatches(c.possibleMatches, c));
    return el("article", { class: "customer", "aria-label": `Customer ${c.name || ""}`.trim() }, summary, details);
  }

  function renderWho(c, failed) {
    const layout = layoutOf("Customer");
    const nameField = layout.nameField || "name";
    const facts = el("dl", { class: "facts" });
    for (const f of layout.fields) {
      if (f.name === nameField || f.section === "details") continue;
      let node = formatted(c[f.name], f);
      if (!node && failed(f.name)) node = notAvailable();
      if (node) facts.append(el("dt", null, f.label), el("dd", { "data-field": f.name }, node));
    }
    const badges = el("ul", { class: "badges", "aria-label": "Systems that know this customer" });
    for (const r of c.sourceRecords || []) {
      const why = r.linkedBy && r.linkedBy.length ? `linked by ${r.linkedBy.join("; ")}` : "the first record found";
      badges.append(el("li", { class: `badge${r.stale ? " stale" : ""}`, "data-source": r.source, title: why },
        el("strong", null, sourceLabel(r.source)), el("span", { class: "ref" }, ` ${r.localId}`),
        // From an export: the time of the file it was read from; otherwise a stale cached copy.
        r.asOf ? el("span", { class: "tag" }, `as of ${asOf(r.asOf)}${r.stale ? " (out of date)" : ""}`)
          : r.stale ? el("span", { class: "tag" }, "last copy") : null));
    }
    // Relations a display hint puts on the first screen (section: summary): a short list each.
    const pinned = layout.relations.filter((r) => r.section === "summary").map((rel) => {
      const value = c[rel.name];
      const rows = Array.isArray(value) ? value : value ? [value] : [];
      return el("div", { class: "pinned", "data-relation": rel.name }, el("h3", null, `${rel.label} (${rows.length})`),
        rows.length ? el("ul", null, rows.slice(0, 4).map((r) => el("li", null, referenceText(r, rel.entity, 4))))
          : el("p", { class: "muted" }, failed(rel.name) ? "not available" : "none"));
    });
    return el("header", { class: "who" }, el("h2", null, c[nameField] || c.name || "(no name)"), facts, badges, pinned);
  }

  // Customer fields a display hint sends one scroll away (section: details).
  function renderMoreFields(c, failed) {
    const fields = layoutOf("Customer").fields.filter((f) => f.section === "details");
    if (!fields.length) return null;
    const facts = el("dl", { class: "facts" });
    for (const f of fields) {
      const node = formatted(c[f.name], f) || (failed(f.name) ? notAvailable() : null);
      if (node) facts.append(el("dt", null, f.label), el("dd", { "data-field": f.name }, node));
    }
    return section("more", "More about the customer", facts);
  }

  // What is wrong now: failed or stale systems, open cases, disagreements, orders in trouble.
  function renderAttention(c, ctx, failed) {
    const items = [];
    const add = (kind, ...content) => items.push(el("li", { class: `alert ${kind}` }, ...content));
    for (const name of ctx.failedSources) add("bad", failureWords(name));
    for (const r of c.sourceRecords || []) {
      if (r.stale && r.asOf) add("warn", `${sourceLabel(r.source)}: its latest export is out of date`,
        ` (as of ${asOf(r.asOf)})`);
      else if (r.stale) add("warn", `${sourceLabel(r.source)} did not answer: showing its last copy`,
        r.ageSeconds ? ` from ${ago(new Date(Date.now() - r.ageSeconds * 1000))}` : "");
    }
    const known = new Set((c.sourceRecords || []).map((r) => r.source));
    const missing = Object.entries(served?.sources || {}).filter(([name, s]) => (s.entities || []).includes("Customer")
      && !known.has(name) && !ctx.failedSources.includes(name)).map(([name]) => sourceLabel(name));
    if (missing.length) add("info", `Not known to ${listWords(missing)}`);
    for (const k of c.cases || []) {
      if (OPEN_CASES.has(k.status)) add("warn", "Case ", el("strong", null, k.subject || "without subject"), " ",
        status(k.status, k.rawStatuses), k.openedAt ? [" · opened ", when(k.openedAt)] : null);
    }
    for (const k of c.conflicts || []) add("warn", `Systems disagree on the ${words(k.field).toLowerCase()}`);
    for (const p of c.purchases || []) {
      for (const f of p.flags || []) add("bad", `${orderName(p)}: ${f.message}`);
      for (const k of p.conflicts || []) {
        add("warn", `${orderName(p)}: systems disagree on the ${words(k.field).toLowerCase()} (`,
          listWords(k.values.map((v) => `${sourceLabel(v.source)} says ${k.field === "status" ? words(v.value) : v.value}`)), ")");
      }
      const shipments = p.shipments || [];
      const bad = shipments.filter((s) => BAD_DELIVERY.has(s.status));
      if (bad.length && !shipments.some((s) => s.status === "DELIVERED")) {
        add("bad", `${orderName(p)} not delivered: `, status(bad[0].status, bad[0].rawStatuses));
      }
    }
    if (c.possibleMatches && c.possibleMatches.length) add("info", `${c.possibleMatches.length} possible match` +
      `${c.possibleMatches.length > 1 ? "es" : ""} to confirm (below)`);
    const list = el("ul", { class: "alerts" }, items);
    if (!items.length) list.append(el("li", { class: "alert ok" }, "Nothing needs attention."));
    return section("attention", "Needs attention", list);
  }

  function renderLatest(entries, failedHere) {
    const sorted = [...entries].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, 5);
    const list = el("ol", { class: "timeline latest-list" }, sorted.map((e) => timelineEntry(e, "latest")));
    if (!sorted.length) list.append(el("li", { class: "muted" }, failedHere ? "Activity not available." : "No activity."));
    return section("latest", "Latest activity", list);
  }

  // ---------------------------------------------------------------- one scroll away

  function renderConflicts(c) {
    const rows = [];
    for (const k of c.conflicts || []) rows.push(["Customer", k]);
    for (const p of c.purchases || []) for (const k of p.conflicts || []) rows.push([orderName(p), k]);
    if (!rows.length) return null;
    const list = el("ul");
    for (const [owner, k] of rows) {
      const values = el("ul", { class: "values" });
      for (const v of k.values) {
        const said = k.field === "status" ? status(v.value) : el("strong", null, v.value ?? "(empty)");
        values.append(el("li", { class: v.value === k.chosen ? "chosen" : null },
          sourceBadge(v.source, v.localId), " says ", said, v.observedAt ? [" · ", when(v.observedAt)] : null));
      }
      const chosen = k.field === "status" ? words(k.chosen) : k.chosen;
      list.append(el("li", { class: "conflict" }, el("span", { class: "what" }, `${owner}: ${k.field}`),
        ` — shown as ${chosen ?? "(none)"}`, values));
    }
    return section("conflicts", "Systems disagree", list);
  }

  function whoText(who) {
    const systems = (who.sourceRecords || []).map((r) => sourceLabel(r.source));
    return `${who.name || "(no name)"}${systems.length ? ` — in ${listWords([...new Set(systems)])}` : ""}`;
  }

  function renderMatches(matches, customer) {
    const list = el("ul", { class: "match-list" });
    for (const m of matches) {
      const who = m.customer;
      const ref = who?.sourceRecords?.[0];
      const item = el("li", { class: "match" },
        who ? el("button", { type: "button", class: "linkish", on: { click: () => search(ref ? `${ref.source}:${ref.localId}` : who.id) } },
          whoText(who)) : "candidate",
        m.score !== undefined && m.score !== null ? el("span", { class: "score" }, ` score ${Number(m.score).toFixed(2)}`) : "",
        m.reasons && m.reasons.length ? el("span", { class: "why" }, m.reasons.join("; ")) : "");
      if (who && canDecide()) item.append(decisionForm(customer, who));
      list.append(item);
    }
    return section("matches", "Possible matches to confirm", el("p", { class: "muted" },
      "Not linked automatically: check with the customer before treating these as the same person."), list);
  }

  const canDecide = () => Boolean(served?.documents?.linkRecords && served?.documents?.unlinkRecords);

  function decisionForm(customer, who) {
    const label = `Reason for the decision about ${who.name || "this customer"}`;
    const reason = el("input", { type: "text", class: "reason", "aria-label": label, placeholder: "Reason (required)" });
    const said = el("p", { class: "decided", role: "status" });
    const act = (kind) => async () => {
      if (!reason.value.trim()) { said.textContent = "Give a reason first: it is stored and audited."; reason.focus(); return; }
      said.textContent = "Saving…";
      try {
        const done = await decide(kind, customer.id, who.id, reason.value.trim());
        said.textContent = kind === "link" ? `Linked by ${done.principal}. Searching again…`
          : `Recorded as not the same person by ${done.principal}.`;
        if (kind === "link") search(customer.id);
      } catch (error) {
        said.textContent = `Not saved: ${error.message}`;
      }
    };
    return el("div", { class: "decide" }, reason,
      el("button", { type: "button", on: { click: act("link") } }, "Same person"),
      el("button", { type: "button", on: { click: act("never") } }, "Not the same"), said);
  }

  const CHANNEL_NAMES = { WEB: "web", STORE: "store", DELIVERY: "delivery", EMAIL: "email", CHAT: "chat",
    PHONE: "phone", SOCIAL: "social", SMS: "SMS", WHATSAPP: "WhatsApp", PURCHASE: "purchase", PAYMENT: "payment",
    CASE: "case" };

  function timelineEntry(e, extra) {
    const channel = e.kind === "INTERACTION" || e.kind === "DELIVERY" ? e.channel : null;
    const glyph = channel || e.kind;
    const label = channel ? CHANNEL_NAMES[channel] || channel.toLowerCase() : CHANNEL_NAMES[e.kind] || e.kind.toLowerCase();
    const arrow = e.direction === "INBOUND" ? "from customer" : e.direction === "OUTBOUND" ? "to customer" : null;
    return el("li", { class: `entry kind-${e.kind.toLowerCase()}${extra ? ` ${extra}` : ""}`, "data-kind": e.kind,
      "data-channel": e.channel || "" },
      icon(glyph, label),
      el("div", { class: "line" },
        el("div", { class: "meta" }, when(e.at), el("span", { class: "chan" }, label),
          arrow ? el("span", { class: `dir ${e.direction.toLowerCase()}` }, arrow) : null, wait(e.waitSeconds)),
        el("p", { class: "summary" }, ...(e.summary ? summaryWords(e.summary) : [words(e.kind)])),
        extra ? null : el("div", { class: "ref" }, sourceBadge(e.source))));
  }

  // A summary as the source's template wrote it ("WEB purchase 1001 (DELIVERED, 25.00 GBP)") with each
  // model enum value in it as a word ("Web purchase 1001 (delivered, …)"), the raw value on hover. A token
  // inside a reference such as "WEB-100231" is part of the reference, not a value.
  function summaryWords(text) {
    const known = new Set(served?.layout?.enumValues || []);
    const parts = [];
    let last = 0;
    for (const m of text.matchAll(/(?<![\w\-\/.])[A-Z][A-Z0-9_]*[A-Z0-9](?![\w\-\/])/g)) {
      if (!known.has(m[0])) continue;
      parts.push(text.slice(last, m.index));
      const word = CHANNEL_NAMES[m[0]] || words(m[0]).toLowerCase();
      const shown = m.index ? word : word.charAt(0).toUpperCase() + word.slice(1);
      parts.push(el("span", { class: "enum", title: m[0], "data-raw": m[0] }, shown));
      last = m.index + m[0].length;
    }
    parts.push(text.slice(last));
    return parts.filter((p) => p !== "");
  }

  function renderTimeline(entries, failedHere) {
    const sorted = [...entries].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const list = el("ol", { class: "timeline" }, sorted.map((e) => timelineEntry(e)));
    if (!sorted.length) list.append(el("li", { class: "muted" }, failedHere ? "Timeline not available." : "No dated events."));
    return section("timeline-panel", `Timeline, newest first (${sorted.length})`, list);
  }

  // A short reference to another record (a warranty under an order): its plain values in a line.
  function referenceText(row, entity, limit) {
    const parts = [];
    for (const f of layoutOf(entity).fields) {
      const v = row[f.name];
      if (v === null || v === undefined || (Array.isArray(v) && !v.length)) continue;
      if (f.format === "status") parts.push(words(v));
      else if (f.format === "money") parts.push(money(v));
      else if (f.format === "date") parts.push(isNaN(new Date(v)) ? String(v) : DAY.format(new Date(`${v}T00:00:00Z`)));
      else if (f.format === "datetime") parts.push(isNaN(new Date(v)) ? String(v) : ago(new Date(v)));
      else if (typeof v !== "object") parts.push(String(v));
      if (limit && parts.length >= limit) break;
    }
    return parts.join(" · ") || "(no details)";
  }

  function renderPurchase(p, highlighted, path) {
    const title = orderName(p);
    const card = el("article", { class: `purchase${highlighted ? " matched" : ""}`, "aria-label": title, "data-id": p.id },
      el("header", null, icon(p.channel === "STORE" ? "STORE" : "WEB", words(p.channel || "sale")),
        el("h4", null, title), status(p.status, p.rawStatuses),
        highlighted ? el("span", { class: "tag" }, "matched") : null));
    const facts = el("dl", { class: "facts" });
    const fact = (label, value) => { if (value) facts.append(el("dt", null, label), el("dd", null, value)); };
    fact("Placed", when(p.placedAt) || "no date");
    fact("Total", p.total ? money(p.total) : null);
    fact("Channel", p.channel ? words(p.channel) : null);
    if (p.store) fact("Store", [p.store.name, p.store.city].filter(Boolean).join(", ") + (p.till ? ` · till ${p.till}` : ""));
    for (const f of layoutOf("Purchase").fields) {
      if (f.builtin) continue;
      const failedHere = path && failedAt([...path, f.name]);
      fact(f.label, formatted(p[f.name], f) || (failedHere ? notAvailable() : null));
    }
    const systems = [...new Set((p.sourceRecords || []).map((r) => sourceLabel(r.source)))];
    fact("Known to", systems.join(", "));
    card.append(facts);
    for (const f of p.flags || []) card.append(el("p", { class: "flag", role: "note", "data-code": f.code }, f.message));
    if (p.items && p.items.length) {
      const rows = p.items.map((i) => el("tr", null, el("td", null, i.name || i.sku || "item"),
        el("td", { class: "num" }, i.quantity ?? ""), el("td", { class: "num" }, money(i.unitPrice))));
      card.append(el("table", { class: "items" }, el("caption", { class: "visually-hidden" }, `Items of ${title}`),
        el("thead", null, el("tr", null, el("th", { scope: "col" }, "Item"), el("th", { scope: "col" }, "Qty"),
          el("th", { scope: "col" }, "Unit price"))), el("tbody", null, rows)));
    }
    const payments = p.payments && p.payments.length ? p.payments : p.payment ? [p.payment] : [];
    if (payments.length) {
      card.append(el("ul", { class: "payments", "aria-label": "Payments" }, payments.map((x) => el("li", null,
        icon("PAYMENT", "payment"), ` ${words(x.kind || "payment")} ${money(x.amount)} by ${words(x.method || "unknown method").toLowerCase()}`,
        x.cardLast4 ? ` •••• ${x.cardLast4}` : "", x.at ? [" · ", when(x.at)] : null))));
    }
    for (const s of p.shipments || []) {
      const events = el("ol", { class: "events" }, (s.events || []).map((e) => el("li", null, when(e.at), " ",
        status(e.status), " ", e.note || "")));
      card.append(el("div", { class: "shipment" }, el("p", null, icon("DELIVERY", "delivery"),
        el("strong", null, ` ${s.bookingRef || "booking"}`), ` ${s.carrier || ""} · `, status(s.status, s.rawStatuses),
        s.scheduledFor ? [" · slot ", when(s.scheduledFor)] : null,
        s.orderNumber ? el("span", { class: "muted" }, ` (order written “${s.orderNumber}”)`) : null), events));
    }
    // Relations a config added to Purchase (the demo's warranties): one line each.
    for (const rel of layoutOf("Purchase").relations) {
      if (rel.builtin) continue;
      const value = p[rel.name];
      const rows = Array.isArray(value) ? value : value ? [value] : [];
      const failedHere = path && failedAt([...path, rel.name]);
      if (!rows.length && !failedHere) continue;
      card.append(el("p", { class: "related", "data-relation": rel.name }, el("strong", null, `${rel.label}: `),
        rows.length ? rows.map((r) => referenceText(r, rel.entity)).join("; ") : notAvailable()));
    }
    return card;
  }

  function renderPurchases(purchases, highlight, gap) {
    const sorted = [...purchases].sort((a, b) => ((a.placedAt || "") < (b.placedAt || "") ? 1 : -1));
    const box = section("purchases", `Purchases (${sorted.length})`);
    const note = gapNote("Purchases", gap, sorted.length);
    if (note) box.append(note);
    for (const p of sorted) box.append(renderPurchase(p, highlight && highlight.has(p.id), p.__path));
    if (!sorted.length && !note) box.append(el("p", { class: "muted" }, "No purchases in any system."));
    return box;
  }

  function renderCases(cases, gap) {
    const box = section("cases", `Cases (${cases.length})`);
    const note = gapNote("Cases", gap, cases.length);
    if (note) box.append(note);
    if (!cases.length) {
      if (!note) box.append(el("p", { class: "muted" }, "No cases."));
      return box;
    }
    box.append(el("ul", null, cases.map((k) => {
      const record = (k.sourceRecords || [])[0];
      return el("li", null, icon("CASE", "case"), " ", el("strong", null, k.subject || "Case"), " ",
        status(k.status, k.rawStatuses), k.openedAt ? [" · opened ", when(k.openedAt)] : null,
        k.orderNumber ? ` · order ${k.orderNumber}` : "", record ? [" · ", sourceBadge(record.source),
          el("span", { class: "ref" }, ` ${record.localId}`)] : null);
    })));
    return box;
  }

  // Any other relation of the customer (built in or added by config) as a table of its fields.
  function renderRelationPanel(rel, value, path, ctx, gap) {
    const rows = Array.isArray(value) ? value : value ? [value] : [];
    const layout = layoutOf(rel.entity);
    const fields = layout.fields.slice(0, 8);
    const refs = layout.relations.filter((r) => r.mode === "reference" || r.mode === "full").slice(0, 2);
    const box = section(`related rel-${rel.name}`, `${rel.label} (${rows.length})`);
    box.setAttribute("data-relation", rel.name);
    const note = gapNote(rel.label, gap, rows.length);
    if (note) box.append(note);
    if (!rows.length) {
      if (!note) box.append(el("p", { class: "muted" }, `No ${rel.label.toLowerCase()} in any system.`));
      return box;
    }
    const head = el("tr", null, fields.map((f) => el("th", { scope: "col" }, f.label)),
      refs.map((r) => el("th", { scope: "col" }, r.label)));
    const body = el("tbody", null, rows.map((row, i) => el("tr", null,
      fields.map((f) => el("td", { "data-field": f.name }, formatted(row[f.name], f)
        || (ctx.failed([...path, i, f.name]) ? notAvailable() : ""))),
      refs.map((r) => {
        const v = row[r.name];
        const list = Array.isArray(v) ? v : v ? [v] : [];
        return el("td", null, list.map((x) => referenceText(x, r.entity)).join("; "));
      }))));
    box.append(el("div", { class: "scroll" }, el("table", { class: "grid" },
      el("caption", { class: "visually-hidden" }, rel.label), el("thead", null, head), body)));
    return box;
  }

  // ---------------------------------------------------------------- results: one, several, none

  let failedAt = () => false;

  function customersFrom(search, data) {
    const byId = new Map();
    const highlight = new Set();
    const purchases = [];
    const tag = (customer, path) => {
      if (!customer || byId.has(customer.id)) return;
      customer.__path = path;
      (customer.purchases || []).forEach((p, i) => { p.__path = [...path, "purchases", i]; });
      byId.set(customer.id, customer);
    };
    if (search.mode === "purchases") {
      (data?.purchases?.nodes || []).forEach((p, i) => {
        purchases.push(p);
        highlight.add(p.id);
        tag(p.customer, ["purchases", "nodes", i, "customer"]);
      });
    } else {
      for (const t of search.tries) (data?.[t.arg] || []).forEach((c, i) => tag(c, [t.arg, i]));
    }
    return { customers: [...byId.values()], purchases, highlight };
  }

  function showResults(search, json) {
    const results = $("results");
    const states = sourceStates(json);
    renderSources(states);
    failedAt = failures(json);
    const { customers, purchases, highlight } = customersFrom(search, json.data);
    const failedSources = Object.keys(states).filter((n) => states[n].state === "failed");
    const asked = Object.keys(states).filter((n) => states[n].state !== "idle");
    const tried = search.tries.map((t) => (t.arg === "purchases" ? t.label : `${t.label} “${search.term}”`)).join(", then ");
    const missingFrom = (entity) => failedSources.filter((n) => (served?.sources?.[n]?.entities || []).includes(entity))
      .map(sourceLabel);
    const ctx = { highlight, failed: failedAt, failedSources, missingFrom };
    const blocks = [];
    if (failedSources.length) {
      blocks.push(el("p", { class: "notice partial", role: "alert" },
        failedSources.map((n) => `${failureWords(n)}.`).join(" ")));
    }
    const otherErrors = (json.errors || []).filter((e) => !e.extensions?.source && !Array.isArray(e.path));
    for (const e of otherErrors) blocks.push(el("p", { class: "notice error", role: "alert" }, e.message));

    if (!customers.length && !purchases.length) {
      const where = asked.length ? listWords(asked.map(sourceLabel)) : "every system";
      blocks.push(el("p", { class: "notice empty" }, el("strong", null, "Nothing matched: "), `we tried ${tried} in ${where}.`,
        " Check the spelling, or try another identifier: an email, a phone, an order number, a loyalty number, a source",
        " reference such as pos:00004711, or a card's last four digits with the date."));
      setStatus(`Nothing matched “${search.term}”.`);
      results.replaceChildren(...blocks);
      return;
    }
    remember(search, customers);
    if (purchases.length && search.mode === "purchases") {
      const box = section("matched", `Purchases matching ${search.tries[0].label} (${purchases.length})`);
      for (const p of purchases) {
        box.append(renderPurchase(p, true, null));
        box.append(el("p", { class: "owner" }, p.customer ? `Belongs to ${p.customer.name || "a customer with no name"}`
          : "No customer record is linked to this purchase."));
      }
      blocks.push(box);
    }
    const view = el("div", { class: "view" });
    const n = customers.length;
    const suffix = failedSources.length ? `; ${listWords(failedSources.map(sourceLabel))} not answering.` : ".";
    if (n > 1) {
      blocks.push(renderCandidates(customers, view, ctx, search, suffix));
      view.append(el("p", { class: "muted" }, "Choose one of the customers above."));
    } else if (n === 1) {
      view.append(renderCustomer(customers[0], ctx));
    }
    blocks.push(view);
    results.replaceChildren(...blocks);
    setStatus(`${n === 1 ? `Found ${customers[0].name || "one customer"}` : `${n} customers match`} by ${tried}${suffix}`);
  }

  function lastPurchase(c) {
    const sorted = [...(c.purchases || [])].filter((p) => p.placedAt).sort((a, b) => (a.placedAt < b.placedAt ? 1 : -1));
    return sorted[0] || null;
  }

  // Enough to choose between people with the same phone or name: address, birth date, last purchase, systems.
  function renderCandidates(customers, view, ctx, search, suffix) {
    const heading = el("h3", null, `${customers.length} customers match: choose one`);
    const box = el("section", { class: "panel ambiguous", "aria-label": "Customers that match" }, heading);
    const list = el("ul", { class: "candidates" });
    const buttons = [];
    for (const c of customers) {
      const last = lastPurchase(c);
      const systems = [...new Set((c.sourceRecords || []).map((r) => sourceLabel(r.source)))];
      const details = el("dl", { class: "facts compact" });
      const fact = (label, value) => { if (value) details.append(el("dt", null, label), el("dd", null, value)); };
      const none = el("span", { class: "muted" }, "not on file");
      fact("Address", (c.addresses || [])[0] || none.cloneNode(true));
      fact("Born", day(c.dateOfBirth) || none.cloneNode(true));
      fact("Last purchase", last ? [orderName(last), " · ", when(last.placedAt)] : "none");
      fact("Contact", [...(c.emails || []), ...(c.phones || [])].slice(0, 2).join(", "));
      fact("Systems", systems.join(", "));
      const button = el("button", { type: "button", "aria-pressed": "false", on: { click: () => {
        for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
        heading.textContent = `Showing ${c.name || "the chosen customer"}; other customers that match “${search.term}”`;
        setStatus(`Showing ${c.name || "the chosen customer"} (chosen from ${customers.length} matches)${suffix}`);
        view.replaceChildren(renderCustomer(c, ctx));
      } } }, el("strong", null, c.name || "(no name)"), details);
      buttons.push(button);
      list.append(el("li", null, button));
    }
    box.append(list);
    return box;
  }

  // ---------------------------------------------------------------- recent searches (this browser only)

  function recent() {
    try { return JSON.parse(localStorage.getItem(RECENT_STORE) || "[]").filter((r) => r && r.term); } catch { return []; }
  }

  function remember(search, customers) {
    const label = customers.length === 1 ? customers[0].name || "" : `${customers.length} customers`;
    const entry = { term: search.term, arg: search.forced || null, label };
    const list = [entry, ...recent().filter((r) => r.term !== search.term)].slice(0, RECENT_MAX);
    try { localStorage.setItem(RECENT_STORE, JSON.stringify(list)); } catch { /* private mode: not kept */ }
    renderRecent();
  }

  function renderRecent() {
    const nav = $("recent");
    const list = recent();
    nav.replaceChildren();
    if (!list.length) return;
    nav.append(el("span", { class: "label" }, "Recent"),
      el("ul", null, list.map((r) => el("li", null, el("button", { type: "button", class: "linkish",
        on: { click: () => search(r.term, r.arg || undefined) } }, r.label ? `${r.label} (${r.term})` : r.term)))),
      el("button", { type: "button", class: "clear linkish", on: { click: () => {
        localStorage.removeItem(RECENT_STORE);
        renderRecent();
      } } }, "Clear"));
  }

  // ---------------------------------------------------------------- the search itself

  function setStatus(text, busy) {
    $("status").textContent = text;
    $("results").setAttribute("aria-busy", busy ? "true" : "false");
    document.body.classList.toggle("loading", Boolean(busy));
  }

  let current = null;
  async function search(raw, forced) {
    const input = $("term");
    if (raw !== undefined) input.value = raw;
    const wanted = detect(input.value, forced);
    if (!wanted) { setStatus("Type something to search for."); input.focus(); return; }
    wanted.forced = forced;
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    const tried = wanted.tries.map((t) => t.label).join(" or ");
    setStatus(`Searching by ${tried}…`, true);
    $("results").replaceChildren(el("p", { class: "notice loading" }, `Searching by ${tried}…`));
    try {
      const loaded = await loadDocuments();
      if (controller.signal.aborted) return;
      if (loaded.status === 401) return showProblem("Not authorised: enter an API key for your role (API key, above).", true);
      if (loaded.status !== 200) return showProblem(`The gateway did not give the console its queries (${loaded.status}).`);
      const body = buildDocument(wanted);
      if (!body) return showProblem(`Your role may not search by ${tried}.`);
      const { status, json } = await graphql(body, controller.signal);
      if (controller.signal.aborted) return;
      if (status === 401) return showProblem("Not authorised: enter an API key for your role (API key, above).", true);
      if (status === 429) return showProblem("Too many requests: wait a moment and search again.");
      if (status >= 400 && !json.data) {
        return showProblem(`The gateway refused the search (${status}): ${(json.errors || []).map((e) => e.message).join("; ")}`);
      }
      showResults(wanted, json);
    } catch (error) {
      if (error.name === "AbortError") return;
      showProblem("Cannot reach the gateway: check the network and search again.");
    } finally {
      if (current === controller) { current = null; document.body.classList.remove("loading"); }
      $("results").setAttribute("aria-busy", "false");
    }
  }

  function showProblem(text, needsKey) {
    $("sources").replaceChildren();
    $("results").replaceChildren(el("p", { class: "notice error", role: "alert" }, text));
    setStatus(text);
    if (needsKey) { document.querySelector(".key").open = true; $("apikey").focus(); }
  }

  // Screen-pop: a telephony system opens /console/?phone=… (or email, order, ref, loyalty, name, q).
  const POP = { phone: "phone", email: "email", order: "orderNumber", ref: "sourceRef", loyalty: "loyaltyNumber",
    name: "name" };

  function screenPop() {
    const params = new URLSearchParams(window.location.search);
    for (const [param, arg] of Object.entries(POP)) {
      const value = params.get(param);
      if (value && value.trim()) return search(value, arg);
    }
    const q = params.get("q");
    if (q && q.trim()) return search(q);
    return null;
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener("DOMContentLoaded", () => {
    const key = $("apikey");
    key.value = sessionStorage.getItem(KEY_STORE) || "";
    key.addEventListener("input", () => {
      if (key.value) sessionStorage.setItem(KEY_STORE, key.value);
      else sessionStorage.removeItem(KEY_STORE);
      served = null;
    });
    key.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); key.blur(); $("term").focus(); } });
    $("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
    document.addEventListener("keydown", (e) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
      if (e.key === "/" && !typing) { e.preventDefault(); $("term").focus(); $("term").select(); }
    });
    renderRecent();
    screenPop();
  });

  window.onepaneConsole = { detect, buildDocument };
})();
