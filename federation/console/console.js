// Onepane agent console: one search box, one GraphQL document, one screen.
// Plain browser JavaScript, no build step. Every value from the API goes into the page as text
// (textContent / createTextNode), never as HTML.
"use strict";

(() => {
  const ENDPOINT = new URL("../graphql", document.baseURI).href;
  const KEY_STORE = "onepane.apiKey";
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- the query

  const PURCHASE = `
fragment ConsolePurchase on Purchase {
  id source orderNumber channel status rawStatuses placedAt till
  total { amount currency }
  store { name city code }
  items { name sku quantity unitPrice { amount currency } }
  payment { kind method cardLast4 amount { amount currency } at }
  payments { kind method cardLast4 amount { amount currency } at }
  flags { code message }
  sourceRecords { source localId stale }
  conflicts { field chosen values { value source observedAt } }
  shipments { bookingRef orderNumber carrier status scheduledFor events { at status note } }
}`;

  function customerFragment(matches) {
    return `
fragment ConsoleCustomer on Customer {
  id name emails phones addresses loyaltyNumbers
  sourceRecords { source localId linkedBy stale ageSeconds }
  conflicts { field chosen values { value source observedAt } }
  purchases { ...ConsolePurchase }
  cases { id subject status openedAt orderNumber source }
  timeline { at kind channel direction summary waitSeconds source ref }${matches ? "\n  " + matches : ""}
}`;
  }

  // What the search box understands. Returns the arguments to try, all in one document.
  function detect(raw) {
    const term = raw.trim().replace(/\s+/g, " ");
    if (!term) return null;
    const card = term.match(/^(\d{4}) (\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?(?: £?(\d+(?:\.\d{1,2})?))?$/);
    if (card) return cardSearch(term, card);
    const tries = [];
    const digits = term.replace(/[\s().-]/g, "");
    if (term.includes("@")) tries.push(["email", "email"]);
    else if (/^[a-z][a-z0-9_-]*:\S+$/i.test(term)) tries.push(["sourceRef", "source reference"]);
    else if (/^\+?\d{6,15}$/.test(digits)) {
      tries.push(["phone", "phone"]);
      if (/^\d+$/.test(digits) && !digits.startsWith("0")) tries.push(["loyaltyNumber", "loyalty number"]);
    } else if (/\d/.test(term)) tries.push(["orderNumber", "order number"]);
    else tries.push(["name", "name"]);
    return { mode: "customers", term, tries: tries.map(([arg, label]) => ({ arg, label })) };
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

  function buildDocument(search, matches) {
    if (search.mode === "purchases") {
      return {
        query: `query ConsoleCardSearch($filter: PurchaseFilter) {
  purchases(filter: $filter, first: 20) { nodes { ...ConsolePurchase customer { ...ConsoleCustomer } } }
}${PURCHASE}${customerFragment(matches)}`,
        variables: { filter: search.filter },
      };
    }
    const vars = search.tries.map((t, i) => `$t${i}: String`).join(", ");
    const fields = search.tries.map((t, i) => `  r${i}: customers(${t.arg}: $t${i}) { ...ConsoleCustomer }`).join("\n");
    const variables = {};
    search.tries.forEach((t, i) => { variables[`t${i}`] = search.term; });
    return { query: `query ConsoleSearch(${vars}) {\n${fields}\n}${PURCHASE}${customerFragment(matches)}`, variables };
  }

  // ---------------------------------------------------------------- talking to /graphql

  async function graphql(body, signal) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers["X-Api-Key"] = key;
    const response = await fetch(ENDPOINT, { method: "POST", headers, body: JSON.stringify(body), signal });
    let json = null;
    try { json = await response.json(); } catch { json = null; }
    return { status: response.status, json: json || {} };
  }

  // possibleMatches (and the linkRecords / unlinkRecords decisions) are optional: ask the schema
  // once whether they exist and what they carry. A role without introspection simply sees none.
  let matchesSelection = null;
  let canDecide = false;
  async function possibleMatchesSelection() {
    if (matchesSelection !== null) return matchesSelection;
    matchesSelection = "";
    canDecide = false;
    try {
      const unwrap = "type { name kind ofType { name kind ofType { name kind ofType { name } } } }";
      const first = await graphql({ query: `{ customer: __type(name: "Customer") { fields { name ${unwrap} } }
  mutation: __type(name: "Mutation") { fields { name } } }` });
      const mutations = new Set((first.json.data?.mutation?.fields || []).map((f) => f.name));
      canDecide = mutations.has("linkRecords") && mutations.has("unlinkRecords");
      const field = (first.json.data?.customer?.fields || []).find((f) => f.name === "possibleMatches");
      if (!field) return matchesSelection;
      let type = field.type;
      while (type && !type.name) type = type.ofType;
      const second = await graphql({ query: `{ __type(name: ${JSON.stringify(type.name)}) { fields { name } } }` });
      const names = new Set((second.json.data?.__type?.fields || []).map((f) => f.name));
      const parts = ["score", "reasons"].filter((n) => names.has(n));
      if (names.has("customer")) parts.push("customer { id name emails phones sourceRecords { source localId } }");
      if (parts.length) matchesSelection = `possibleMatches { ${parts.join(" ")} }`;
    } catch { matchesSelection = ""; }
    return matchesSelection;
  }

  // Confirm or reject a possible match: one mutation under the agent's own credentials.
  async function decide(kind, a, b, reason) {
    const field = kind === "link" ? "linkRecords" : "unlinkRecords";
    const { status, json } = await graphql({
      query: `mutation ConsoleDecide($a: ID!, $b: ID!, $reason: String!) {
  ${field}(a: $a, b: $b, reason: $reason) { kind principal createdAt } }`,
      variables: { a, b, reason },
    });
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

  const DATE = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit" });
  function when(value) {
    if (!value) return el("span", { class: "muted" }, "no date");
    const date = new Date(value);
    return el("time", { datetime: value, title: value }, isNaN(date) ? value : DATE.format(date));
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
  const sourceBadge = (source, localId) => el("span", { class: "src", "data-source": source },
    localId ? `${source} · ${localId}` : source);
  const section = (cls, title, ...children) => el("section", { class: `panel ${cls}`, "aria-label": title },
    el("h3", null, title), ...children);

  // ---------------------------------------------------------------- the sources strip

  function sourceStates(json) {
    const seen = json.extensions?.sources || {};
    const states = {};
    for (const [name, s] of Object.entries(seen)) {
      let state = "idle";
      if (s.ok === false || s.error) state = "failed";
      else if (s.stale > 0) state = "stale";
      else if (s.calls > 0 || s.cacheHits > 0) state = "answered";
      states[name] = { state, ms: s.ms, detail: s.error?.message || s.error?.code || "", asOf: s.asOf, old: s.pastMaxAge };
    }
    for (const error of json.errors || []) {
      const name = error.extensions?.source;
      if (!name) continue;
      states[name] = { ...(states[name] || {}), state: "failed", detail: error.message };
    }
    return states;
  }

  const asOf = (iso) => iso.slice(0, 16).replace("T", " ");
  const STATE_TEXT = { answered: "answered", stale: "stale (from cache)", failed: "failed", idle: "not asked" };

  function renderSources(states) {
    const strip = $("sources");
    strip.replaceChildren();
    const names = Object.keys(states);
    if (!names.length) return;
    strip.append(el("span", { class: "label" }, "Sources"));
    const list = el("ul");
    for (const name of names) {
      const s = states[name];
      const ms = typeof s.ms === "number" && s.state !== "idle" ? ` · ${Math.round(s.ms)} ms` : "";
      list.append(el("li", { class: `source ${s.state}`, "data-source": name, "data-state": s.state, title: s.detail || null },
        el("strong", null, name), ` ${STATE_TEXT[s.state]}${ms}`,
        // An export-fed system: when its copy was made, and whether that is older than its max_age.
        s.asOf ? el("span", { class: `as-of${s.old ? " old" : ""}` }, ` · as of ${asOf(s.asOf)}${s.old ? " (out of date)" : ""}`) : null,
        s.state === "failed" && s.detail ? el("span", { class: "detail" }, s.detail) : null));
    }
    strip.append(list);
  }

  // ---------------------------------------------------------------- the customer screen

  function renderCustomer(c, highlight) {
    const facts = el("dl", { class: "facts" });
    const fact = (label, values) => {
      if (!values || !values.length) return;
      facts.append(el("dt", null, label), el("dd", null, values.join(", ")));
    };
    fact("Emails", c.emails);
    fact("Phones", c.phones);
    fact("Loyalty", c.loyaltyNumbers);
    fact("Addresses", c.addresses);
    fact("Gateway id", [c.id]);

    const badges = el("ul", { class: "badges", "aria-label": "Source records" });
    for (const r of c.sourceRecords || []) {
      badges.append(el("li", { class: `badge${r.stale ? " stale" : ""}`, "data-source": r.source },
        el("strong", null, r.source), ` ${r.localId}`,
        r.stale ? el("span", { class: "tag" }, `stale${r.ageSeconds ? `, ${Math.round(r.ageSeconds)} s old` : ""}`) : null,
        el("span", { class: "why" }, r.linkedBy && r.linkedBy.length ? `linked by ${r.linkedBy.join("; ")}` : "only record")));
    }

    const body = el("article", { class: "customer", "aria-label": `Customer ${c.name || c.id}` },
      el("header", { class: "who" }, el("h2", null, c.name || "(no name)"), facts, badges));
    const conflicts = renderConflicts(c);
    if (conflicts) body.append(conflicts);
    if (c.possibleMatches && c.possibleMatches.length) body.append(renderMatches(c.possibleMatches, c));
    const main = el("div", { class: "columns" }, renderTimeline(c.timeline || []),
      el("div", { class: "side" }, renderPurchases(c.purchases || [], highlight), renderCases(c.cases || [])));
    body.append(main);
    return body;
  }

  function renderConflicts(c) {
    const rows = [];
    for (const k of c.conflicts || []) rows.push(["Customer", k]);
    for (const p of c.purchases || []) for (const k of p.conflicts || []) rows.push([`Order ${p.orderNumber || p.id}`, k]);
    if (!rows.length) return null;
    const list = el("ul");
    for (const [owner, k] of rows) {
      const values = el("ul", { class: "values" });
      for (const v of k.values) {
        values.append(el("li", { class: v.value === k.chosen ? "chosen" : null },
          sourceBadge(v.source), " says ", el("strong", null, v.value ?? "(empty)"), " at ", when(v.observedAt)));
      }
      list.append(el("li", { class: "conflict" }, el("span", { class: "what" }, `${owner}: ${k.field}`),
        ` — shown as ${k.chosen ?? "(none)"}`, values));
    }
    return section("conflicts", "Systems disagree", list);
  }

  function renderMatches(matches, customer) {
    const list = el("ul", { class: "match-list" });
    for (const m of matches) {
      const who = m.customer;
      const item = el("li", { class: "match" },
        who ? el("button", { type: "button", class: "linkish", on: { click: () => search(who.id) } },
          `${who.name || who.id} (${who.id})`) : "candidate",
        m.score !== undefined && m.score !== null ? el("span", { class: "score" }, ` score ${Number(m.score).toFixed(2)}`) : "",
        m.reasons && m.reasons.length ? el("span", { class: "why" }, m.reasons.join("; ")) : "");
      if (who && canDecide) item.append(decisionForm(customer, who));
      list.append(item);
    }
    return section("matches", "Possible matches to confirm", el("p", { class: "muted" },
      "Not linked automatically: check with the customer before treating these as the same person."), list);
  }

  function decisionForm(customer, who) {
    const label = `Reason for the decision about ${who.name || who.id}`;
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
    PHONE: "phone", SOCIAL: "social", SMS: "SMS", WHATSAPP: "WhatsApp" };

  function renderTimeline(entries) {
    const sorted = [...entries].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const list = el("ol", { class: "timeline" });
    for (const e of sorted) {
      const channel = e.kind === "INTERACTION" || e.kind === "DELIVERY" ? e.channel : null;
      const glyph = channel || e.kind;
      const label = channel ? CHANNEL_NAMES[channel] || channel.toLowerCase() : e.kind.toLowerCase();
      const arrow = e.direction === "INBOUND" ? "from customer" : e.direction === "OUTBOUND" ? "to customer" : null;
      list.append(el("li", { class: `entry kind-${e.kind.toLowerCase()}`, "data-kind": e.kind, "data-channel": e.channel || "" },
        icon(glyph, label),
        el("div", { class: "line" },
          el("div", { class: "meta" }, when(e.at), el("span", { class: "chan" }, label),
            arrow ? el("span", { class: `dir ${e.direction.toLowerCase()}` }, arrow) : null, wait(e.waitSeconds)),
          el("p", { class: "summary" }, e.summary || e.kind),
          el("div", { class: "ref" }, sourceBadge(e.source), " ", e.ref))));
    }
    if (!sorted.length) list.append(el("li", { class: "muted" }, "No dated events."));
    return section("timeline-panel", `Timeline, newest first (${sorted.length})`, list);
  }

  function renderPurchase(p, highlighted) {
    const title = p.orderNumber ? `Order ${p.orderNumber}` : `Sale ${p.id}`;
    const card = el("article", { class: `purchase${highlighted ? " matched" : ""}`, "aria-label": title, "data-id": p.id },
      el("header", null, icon(p.channel === "STORE" ? "STORE" : "WEB", (p.channel || "").toLowerCase()),
        el("h4", null, title), el("span", { class: `status s-${(p.status || "unknown").toLowerCase()}` }, p.status || "UNKNOWN"),
        highlighted ? el("span", { class: "tag" }, "matched") : null));
    const facts = el("dl", { class: "facts" });
    const fact = (label, value) => { if (value) facts.append(el("dt", null, label), el("dd", null, value)); };
    facts.append(el("dt", null, "Placed"), el("dd", null, when(p.placedAt)));
    fact("Total", money(p.total));
    fact("Channel", p.channel);
    if (p.store) fact("Store", [p.store.name, p.store.city].filter(Boolean).join(", ") + (p.till ? ` · till ${p.till}` : ""));
    if (p.rawStatuses && p.rawStatuses.length > 1) fact("Raw statuses", p.rawStatuses.join(" · "));
    fact("Sources", (p.sourceRecords || []).map((r) => `${r.source}:${r.localId}`).join(", "));
    card.append(facts);
    for (const f of p.flags || []) card.append(el("p", { class: "flag", role: "note" }, el("strong", null, f.code), ` ${f.message}`));
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
        icon("PAYMENT", "payment"), ` ${x.kind || "PAYMENT"} ${money(x.amount)} by ${x.method || "?"}`,
        x.cardLast4 ? ` •••• ${x.cardLast4}` : "", x.at ? [" · ", when(x.at)] : null))));
    }
    for (const s of p.shipments || []) {
      const events = el("ol", { class: "events" }, (s.events || []).map((e) => el("li", null, when(e.at), " ",
        el("span", { class: `status s-${(e.status || "unknown").toLowerCase()}` }, e.status || "?"), " ", e.note || "")));
      card.append(el("div", { class: "shipment" }, el("p", null, icon("DELIVERY", "delivery"),
        el("strong", null, ` ${s.bookingRef || "booking"}`), ` ${s.carrier || ""} · `,
        el("span", { class: `status s-${(s.status || "unknown").toLowerCase()}` }, s.status || "?"),
        s.scheduledFor ? [" · slot ", when(s.scheduledFor)] : null,
        s.orderNumber ? el("span", { class: "muted" }, ` (order written “${s.orderNumber}”)`) : null), events));
    }
    return card;
  }

  function renderPurchases(purchases, highlight) {
    const sorted = [...purchases].sort((a, b) => ((a.placedAt || "") < (b.placedAt || "") ? 1 : -1));
    const box = section("purchases", `Purchases (${sorted.length})`);
    for (const p of sorted) box.append(renderPurchase(p, highlight && highlight.has(p.id)));
    if (!sorted.length) box.append(el("p", { class: "muted" }, "No purchases in any system."));
    return box;
  }

  function renderCases(cases) {
    if (!cases.length) return null;
    return section("cases", `Cases (${cases.length})`, el("ul", null, cases.map((k) => el("li", null,
      icon("CASE", "case"), " ", el("strong", null, k.subject || k.id), " ",
      el("span", { class: `status s-${(k.status || "unknown").toLowerCase()}` }, k.status || "?"), " · opened ",
      when(k.openedAt), k.orderNumber ? ` · order ${k.orderNumber}` : "", " ", sourceBadge(k.source, k.id)))));
  }

  // ---------------------------------------------------------------- results: one, several, none

  function customersFrom(search, data) {
    const byId = new Map();
    const highlight = new Set();
    const purchases = [];
    if (search.mode === "purchases") {
      for (const p of data?.purchases?.nodes || []) {
        purchases.push(p);
        highlight.add(p.id);
        if (p.customer) byId.set(p.customer.id, p.customer);
      }
    } else {
      search.tries.forEach((t, i) => { for (const c of data?.[`r${i}`] || []) byId.set(c.id, c); });
    }
    return { customers: [...byId.values()], purchases, highlight };
  }

  function showResults(search, json) {
    const results = $("results");
    const states = sourceStates(json);
    renderSources(states);
    const { customers, purchases, highlight } = customersFrom(search, json.data);
    const failed = Object.keys(states).filter((n) => states[n].state === "failed");
    const asked = Object.keys(states).filter((n) => states[n].state !== "idle");
    const tried = search.tries.map((t) => (t.arg === "purchases" ? t.label : `${t.label} “${search.term}”`)).join(", then ");
    const blocks = [];
    if (failed.length) {
      const rest = asked.filter((n) => !failed.includes(n));
      blocks.push(el("p", { class: "notice partial", role: "alert" }, el("strong", null, "Partial answer: "),
        `${failed.join(", ")} did not answer, so anything only ${failed.length > 1 ? "they know" : "it knows"} is missing.`,
        rest.length ? ` Shown below is what ${rest.join(", ")} returned.` : ""));
    }
    const otherErrors = (json.errors || []).filter((e) => !e.extensions?.source);
    for (const e of otherErrors) blocks.push(el("p", { class: "notice error", role: "alert" }, e.message));

    if (!customers.length && !purchases.length) {
      const where = asked.length ? asked.join(", ") : "every source";
      blocks.push(el("p", { class: "notice empty" }, el("strong", null, "Nothing matched: "), `we tried ${tried} in ${where}.`,
        " Check the spelling, or try another identifier: an email, a phone, an order number, a loyalty number, a source",
        " reference such as pos:00004711, or a card's last four digits with the date."));
      setStatus(`Nothing matched “${search.term}”.`);
      results.replaceChildren(...blocks);
      return;
    }
    if (purchases.length && search.mode === "purchases") {
      const box = section("matched", `Purchases matching ${search.tries[0].label} (${purchases.length})`);
      for (const p of purchases) {
        box.append(renderPurchase(p, true));
        box.append(el("p", { class: "owner" }, p.customer ? `Belongs to ${p.customer.name || p.customer.id} (${p.customer.id})`
          : "No customer record is linked to this purchase."));
      }
      blocks.push(box);
    }
    const view = el("div", { class: "view" });
    if (customers.length > 1) {
      blocks.push(renderCandidates(customers, view, highlight));
      view.append(el("p", { class: "muted" }, "Choose one of the customers above."));
    } else if (customers.length === 1) {
      view.append(renderCustomer(customers[0], highlight));
    }
    blocks.push(view);
    results.replaceChildren(...blocks);
    const n = customers.length;
    setStatus(`${n === 1 ? `Found ${customers[0].name || customers[0].id}` : `${n} customers match`} by ${tried}` +
      (failed.length ? `; ${failed.join(", ")} failed.` : "."));
  }

  function renderCandidates(customers, view, highlight) {
    const list = el("ul", { class: "candidates" });
    const buttons = [];
    for (const c of customers) {
      const button = el("button", { type: "button", "aria-pressed": "false", on: { click: () => {
        for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
        view.replaceChildren(renderCustomer(c, highlight));
      } } }, el("strong", null, c.name || c.id), ` ${c.id}`,
      el("span", { class: "muted" }, ` ${[...(c.emails || []), ...(c.phones || [])].slice(0, 2).join(", ")}`));
      buttons.push(button);
      list.append(el("li", null, button));
    }
    return section("ambiguous", `${customers.length} customers match: choose one`, list);
  }

  // ---------------------------------------------------------------- the search itself

  function setStatus(text, busy) {
    $("status").textContent = text;
    $("results").setAttribute("aria-busy", busy ? "true" : "false");
    document.body.classList.toggle("loading", Boolean(busy));
  }

  let current = null;
  async function search(raw) {
    const input = $("term");
    if (raw !== undefined) input.value = raw;
    const wanted = detect(input.value);
    if (!wanted) { setStatus("Type something to search for."); input.focus(); return; }
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    const tried = wanted.tries.map((t) => t.label).join(" or ");
    setStatus(`Searching by ${tried}…`, true);
    $("results").replaceChildren(el("p", { class: "notice loading" }, `Searching by ${tried}…`));
    try {
      const matches = await possibleMatchesSelection();
      const { status, json } = await graphql(buildDocument(wanted, matches), controller.signal);
      if (controller.signal.aborted) return;
      if (status === 401) return showProblem("Not authorised: enter an API key for your role (API key, above).", true);
      if (status === 429) return showProblem("Too many requests: wait a moment and search again.");
      if (status >= 400 && !json.data) {
        return showProblem(`The gateway refused the query (${status}): ${(json.errors || []).map((e) => e.message).join("; ")}`);
      }
      showResults(wanted, json);
    } catch (error) {
      if (error.name === "AbortError") return;
      showProblem(`Cannot reach the gateway: ${error.message}`);
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

  // ---------------------------------------------------------------- wiring

  document.addEventListener("DOMContentLoaded", () => {
    const key = $("apikey");
    key.value = sessionStorage.getItem(KEY_STORE) || "";
    key.addEventListener("input", () => {
      if (key.value) sessionStorage.setItem(KEY_STORE, key.value);
      else sessionStorage.removeItem(KEY_STORE);
      matchesSelection = null;
    });
    key.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); key.blur(); $("term").focus(); } });
    $("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
    document.addEventListener("keydown", (e) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "");
      if (e.key === "/" && !typing) { e.preventDefault(); $("term").focus(); $("term").select(); }
    });
  });

  window.onepaneConsole = { detect, buildDocument };
})();
