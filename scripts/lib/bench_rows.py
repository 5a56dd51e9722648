"""The rows of a scripts/bench.sh report: report.json -> one list of comparable rows, and the
two things done with them: the change against an earlier report (bench.sh --compare) and the
README's performance table. Pure: values in, text out (unit-tested in bench/rows_test.py).

  python3 scripts/lib/bench_rows.py compare OLD.json NEW.json   the change of every row
  python3 scripts/lib/bench_rows.py table REPORT.json           the README performance table

A row has an absolute figure and, where the report has one, a ratio against a baseline
measured in the same run, each as {median, min, max} over the rounds. A change is flagged as
a regression only when the two runs' ranges do not overlap and the new one lies on the worse
side (a row measured once, n = 1, has no range: any change in the worse direction is flagged).
"""
import json
import sys
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Stat:
    median: float
    min: float
    max: float

    @staticmethod
    def of(d):
        """A report's {median, min, max} (or a bare number) -> Stat; None if missing."""
        if d is None:
            return None
        if isinstance(d, (int, float)):
            return Stat(float(d), float(d), float(d))
        if d.get("median") is None:
            return None
        m = float(d["median"])
        return Stat(m, float(d.get("min", m) if d.get("min") is not None else m),
                    float(d.get("max", m) if d.get("max") is not None else m))


@dataclass(frozen=True)
class Row:
    key: str            # stable identity across runs
    label: str          # what the README table calls it
    unit: str
    higher_is_better: bool
    value: Optional[Stat]
    baseline: str = ""  # what the ratio is against (same run)
    baseline_value: Optional[Stat] = None
    ratio: Optional[Stat] = None
    ratio_higher_is_better: Optional[bool] = None  # default: as the value
    goal: str = ""

    def ratio_better_up(self):
        return self.higher_is_better if self.ratio_higher_is_better is None else self.ratio_higher_is_better


def spread(ratio, value, base):
    """A ratio the report gives as one number (program cost's × base, Maglev's × reference)
    gets the range its two figures' ranges allow: [value.min / base.max, value.max / base.min]."""
    if ratio is None or value is None or base is None or ratio.min != ratio.max or base.min <= 0:
        return ratio
    return Stat(ratio.median, min(ratio.median, value.min / base.max), max(ratio.median, value.max / base.min))


def _find(items, **match):
    for it in items or []:
        if all(it.get(k) == v for k, v in match.items()):
            return it
    return None


# Program cost: xdplb_prog_cost's row names are stable across runs (the proof).
PROG_GOALS = {
    "non-service packet": "≤ 2×",
    "known flow, DNAT + MACs + redirect": "≤ 8×",
    "TC reply, revNAT + FIB + redirect": "≤ 10×",
    "new flow (SYN), one run each": "≤ 50×",
    "new flow, least-conn (64 members)": "≤ 60×",
}
PKT_SCENARIOS = [
    ("xdplb_redirect", "xdplb redirect path (backends build skbs)"),
    ("xdplb_redirect_xdpsink", "xdplb with XDP sinks at the backends"),
    ("xdplb_pass", "xdplb XDP_PASS path"),
    ("routing", "plain routing, no NAT"),
    ("xdp_drop", "XDP_DROP on the uplink (generator ceiling)"),
]
TRAFFIC = [("udp_1", "UDP 1 flow"), ("udp_many", "UDP many flows"), ("tcp_syn_many", "TCP SYN many flows")]
HTTP_SETUPS = [
    ("xdplb", "xdplb, 2 backends"),
    ("xdplb_1", "xdplb, 1 backend"),
    ("nft_dnat", "nft DNAT over the same 2 backends"),
    ("tutorial", "nft DNAT + nginx least_conn proxy"),
    ("direct_xdp_attached", "direct with xdplb attached"),
]
MODES = [("keepalive", "keep-alive"), ("close", "one request per connection")]
HTTP_GOALS = {("xdplb", "close"): "≥ 0.95", ("xdplb_1", "close"): "≥ 0.95",
              ("xdplb", "keepalive"): "≥ 0.98", ("xdplb_1", "keepalive"): "≥ 0.98"}
# p99 like with like: xdplb over one backend vs direct to it; over two vs DNAT over the same two.
P99_PAIRS = [("xdplb_1", "direct", "xdplb 1 backend vs direct to it"),
             ("xdplb", "nft_dnat", "xdplb 2 backends vs nft DNAT over them"),
             ("xdplb", "direct", "xdplb 2 backends vs direct to one")]


def prog_rows(r):
    pc = r.get("prog_cost") or {}
    paths = pc.get("paths") or []
    base = _find(paths, path="baseline: trivial XDP_PASS")
    out = []
    b = Stat(base["ns_per_pkt"], base["min"], base["max"]) if base else None
    for p in paths:
        if p is base:
            continue
        v = Stat(p["ns_per_pkt"], p["min"], p["max"])
        out.append(Row(f"prog/{p['path']}", p["path"] + " (BPF_PROG_TEST_RUN)", "ns/pkt", False, v,
                       "trivial XDP_PASS", b, spread(Stat.of(p.get("x_base")), v, b),
                       goal=PROG_GOALS.get(p["path"], "")))
    return out


def against_baseline(res, ratios, groups, group_key, items, item_key, base):
    """(group, its label, item, its label, row, the group's baseline row, the report's ratio)
    for every row of a results list that the report has, group by group."""
    for g, glabel in groups:
        b = _find(res, **{group_key: g, item_key: base})
        for i, ilabel in items:
            row = _find(res, **{group_key: g, item_key: i})
            if row is not None:
                yield g, glabel, i, ilabel, row, b or {}, Stat.of(ratios.get(g, {}).get(i))


def pktrate_rows(r):
    pr = r.get("packet_rate") or {}
    res, ratios = pr.get("results") or [], pr.get("ratio_vs_nft_dnat") or {}
    out = []
    for t, tlabel, s, slabel, row, nft, ratio in against_baseline(res, ratios, TRAFFIC, "traffic", PKT_SCENARIOS,
                                                                   "scenario", "nft_dnat"):
        goal = "≥ 6×" if (s, t) == ("xdplb_redirect_xdpsink", "udp_many") else ""
        out.append(Row(f"pktrate/{s}/{t}", f"{slabel}, {tlabel}", "Mpps", True, Stat.of(row.get("mpps")),
                       "nft DNAT", Stat.of(nft.get("mpps")), ratio, goal=goal))
    for q in pr.get("two_queues") or []:
        out.append(Row(f"pktrate2q/{q['scenario']}/{q['traffic']}",
                       f"{q['label']}, two RX queues, generator on 2 CPUs", "Mpps", True,
                       Stat.of(q.get("mpps")), "the same on one queue", Stat.of(q.get("one_queue_mpps")),
                       Stat.of(q.get("ratio")), goal="≥ 1.8×"))
    return out


def http_rows(r):
    h = r.get("http") or {}
    res, ratios = h.get("results") or [], h.get("ratio_vs_direct") or {}
    out = []
    for m, mlabel, s, slabel, row, direct, ratio in against_baseline(res, ratios, MODES, "mode", HTTP_SETUPS,
                                                                      "setup", "direct"):
        out.append(Row(f"http/{s}/{m}", f"HTTP {mlabel}: {slabel}", "req/s", True, Stat.of(row.get("rps")),
                       "direct to one backend", Stat.of(direct.get("rps")), ratio, goal=HTTP_GOALS.get((s, m), "")))
    p99 = h.get("p99_ratio") or {}
    for m, mlabel in MODES:
        for s, base, label in P99_PAIRS:
            row, b = _find(res, setup=s, mode=m), _find(res, setup=base, mode=m)
            if row is None or b is None:
                continue
            out.append(Row(f"http_p99/{s}_vs_{base}/{m}", f"HTTP {mlabel} p99: {label}", "ms", False,
                           Stat.of(row.get("p99_ms")), base, Stat.of(b.get("p99_ms")),
                           Stat.of(p99.get(m, {}).get(f"{s}/{base}")), goal="≤ 1.1×"))
    return out


def control_rows(r):
    cp = r.get("control_plane") or {}
    out = []
    for p in (cp.get("maglev") or {}).get("pools") or []:
        n = p["backends"]
        v = Stat(p["build_ms_median"], p["build_ms_min"], p["build_ms_max"])
        ref = Stat.of({"median": p.get("reference_build_ms_median"), "min": p.get("reference_build_ms_min"),
                       "max": p.get("reference_build_ms_max")})
        out.append(Row(f"maglev/{n}", f"Maglev ring build, {n} backends", "ms", False, v, "the reference build", ref,
                       spread(Stat.of(p.get("build_x_reference")), v, ref), goal="≤ 2 ms" if n == 1000 else ""))
        out.append(Row(f"maglev_moved/{n}", f"flows moved when 1 of {n} leaves", "%", False,
                       Stat.of(p["moved_share"] * 100), "ideal", Stat.of(p["moved_share_ideal"] * 100)))
    before = cp.get("backend_add_before") or {}
    # With --add-before: the older binary's figures, alternating in the same run, as the baseline.
    # The daemon rows: this build's command handed to the bridge's running daemon.
    for prefix, how, add in (("backend_add", "", cp.get("backend_add") or {}),
                             ("backend_add_daemon", ", daemon running", cp.get("backend_add_daemon") or {})):
        for row_key, key, label, goal in (
                ("first_packet", "to_first_packet_ms", "`backend add` → first packet at the new backend", "≤ 10 ms"),
                ("command", "command_ms", "`backend add` command", ""),
                ("cpu", "cpu_ms", "`backend add` command, CPU (perf task-clock)", "")):
            v, b = Stat.of(add.get(key)), Stat.of(before.get(key))
            out.append(Row(f"{prefix}/{row_key}", label + how, "ms", False, v, "before (--add-before)" if b else "", b,
                           Stat(v.median / b.median, v.min / b.max, v.max / b.min) if v and b and b.min > 0 else None,
                           goal=goal))
    return [row for row in out if row.value is not None]


def memory_rows(r):
    m = r.get("memory") or {}
    if m.get("per_flow_bytes") is None:
        return []
    ct = (m.get("conntrack_slab") or {}).get("objsize")
    ratio = m["per_flow_bytes"] / ct if ct else None
    return [Row("memory/per_flow", "memory per flow (forward + reverse entry)", "B", False,
                Stat.of(m["per_flow_bytes"]), "conntrack object", Stat.of(ct), Stat.of(ratio)),
            Row("memory/one_million", "memory for 1 M flows", "MiB", False, Stat.of(m.get("one_million_flows_mib")),
                goal="≤ 128 MiB")]


def rows(report):
    """Every comparable row of a report, in the README table's order."""
    return prog_rows(report) + pktrate_rows(report) + http_rows(report) + control_rows(report) + memory_rows(report)


def judge(old, new, higher_is_better):
    """'worse', 'better' or '' for two Stats: only when their ranges do not overlap."""
    if old is None or new is None:
        return ""
    if new.max < old.min:
        return "worse" if higher_is_better else "better"
    if new.min > old.max:
        return "better" if higher_is_better else "worse"
    return ""


def fmt(x):
    if x is None:
        return "–"
    a = abs(x)
    return f"{x:.0f}" if a >= 1000 else f"{x:.1f}" if a >= 100 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def fmt_stat(s, suffix=""):
    if s is None:
        return "–"
    if s.min == s.max:
        return f"{fmt(s.median)}{suffix}"
    return f"{fmt(s.median)}{suffix} [{fmt(s.min)}–{fmt(s.max)}]"


def change(old, new):
    if old is None or new is None or old.median == 0:
        return "–"
    return f"{(new.median / old.median - 1) * 100:+.1f}%"


def compare(old_report, new_report):
    """(text, number of regressions): every row of either report, old -> new."""
    old_rows = {r.key: r for r in rows(old_report)}
    new_rows = rows(new_report)
    keys = [r.key for r in new_rows] + [k for k in old_rows if k not in {r.key for r in new_rows}]
    by_key = {r.key: r for r in new_rows}
    lines = [f"change from {meta_line(old_report)}",
             f"         to {meta_line(new_report)}",
             "flag: the two runs' [min–max] ranges do not overlap (a row measured once: any change)",
             "",
             "| row | unit | before | after | change | ratio before | ratio after | ratio change | flag |",
             "|---|---|---|---|---|---|---|---|---|"]
    regressions = 0
    for k in keys:
        o, n = old_rows.get(k), by_key.get(k)
        row = n or o
        if o is None or n is None:
            lines.append(f"| {row.label} | {row.unit} | {fmt_stat(o and o.value)} | {fmt_stat(n and n.value)} | "
                         f"{'new row' if o is None else 'gone'} | | | | |")
            continue
        v = judge(o.value, n.value, row.higher_is_better)
        rj = judge(o.ratio, n.ratio, row.ratio_better_up())
        # The ratio (same-run baseline) is what survives a slower or busier machine: it decides
        # where there is one; the absolute figure only where there is none.
        verdict = rj if (o.ratio and n.ratio) else v
        flag = {"worse": "REGRESSION", "better": "better", "": ""}[verdict]
        if verdict == "worse":
            regressions += 1
        elif v == "worse":
            flag = "absolute only (ratio holds)"
        lines.append(f"| {row.label} | {row.unit} | {fmt_stat(o.value)} | {fmt_stat(n.value)} | "
                     f"{change(o.value, n.value)} | {fmt_stat(o.ratio, '×')} | {fmt_stat(n.ratio, '×')} | "
                     f"{change(o.ratio, n.ratio)} | {flag} |")
    lines.append("")
    lines.append(f"{regressions} regression(s)")
    return "\n".join(lines), regressions


def meta_line(r):
    m = r.get("meta") or {}
    return (f"{m.get('timestamp', '?')} git {m.get('git', '?')}, {m.get('rounds', '?')} rounds"
            f"{' (quick)' if m.get('quick') == 1 else ''}, load {m.get('loadavg_start', '?')}–{m.get('loadavg_end', '?')}")


def table(report):
    """The README performance table: one line per row."""
    lines = [f"From {meta_line(report)}, kernel {(report.get('meta') or {}).get('kernel', '?')}; "
             "median [min–max] of the rounds, ratios per round against the baseline of the same round.",
             "",
             "| what | xdplb | baseline (same run) | ratio | goal |",
             "|---|---|---|---|---|"]
    for r in rows(report):
        base = f"{r.baseline} {fmt_stat(r.baseline_value)}".strip() if r.baseline else ""
        lines.append(f"| {r.label} | {fmt_stat(r.value)} {r.unit} | {base} | {fmt_stat(r.ratio, '×')} | {r.goal} |")
    return "\n".join(lines)


def load(path):
    with open(path) as f:
        return json.load(f)


def main(argv):
    if len(argv) == 4 and argv[1] == "compare":
        text, _ = compare(load(argv[2]), load(argv[3]))
        print(text)
        return 0
    if len(argv) == 3 and argv[1] == "table":
        print(table(load(argv[2])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
