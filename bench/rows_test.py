"""ctest bench_rows: scripts/lib/bench_rows.py (bench.sh --compare and --table) on two real
reports of scripts/bench.sh kept in bench/fixtures (see bench/fixtures/README.md for the runs).
No root, no network: runs in the unit-test time budget."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "lib"))
import bench_rows as br  # noqa: E402

# The later run as "before", the earlier as "after": some rows of the earlier, busier run lie
# beyond the later run's ranges on the worse side.
OLD = br.load(os.path.join(HERE, "fixtures", "report-1930.json"))
NEW = br.load(os.path.join(HERE, "fixtures", "report-1922.json"))


def row(report, key):
    found = [r for r in br.rows(report) if r.key == key]
    assert found, f"no row {key} in the report; rows: {[r.key for r in br.rows(report)]}"
    return found[0]


class RangeRule(unittest.TestCase):
    def test_overlapping_ranges_are_no_change(self):
        self.assertEqual(br.judge(br.Stat(10, 9, 11), br.Stat(10.5, 10.8, 12), True), "")

    def test_disjoint_ranges_on_the_worse_side_are_a_regression_in_either_direction(self):
        self.assertEqual(br.judge(br.Stat(10, 9, 11), br.Stat(8, 7, 8.9), True), "worse")
        self.assertEqual(br.judge(br.Stat(10, 9, 11), br.Stat(8, 7, 8.9), False), "better")
        self.assertEqual(br.judge(br.Stat(10, 9, 11), br.Stat(12, 11.1, 13), False), "worse")

    def test_a_row_measured_once_flags_any_change(self):
        self.assertEqual(br.judge(br.Stat.of(248), br.Stat.of(249), False), "worse")
        self.assertEqual(br.judge(br.Stat.of(248), br.Stat.of(248), False), "")


class Rows(unittest.TestCase):
    def test_every_section_of_a_full_report_gives_rows(self):
        keys = {r.key for r in br.rows(NEW)}
        for k in ["prog/known flow, DNAT + MACs + redirect", "prog/new flow (SYN), one run each",
                  "pktrate/xdplb_redirect_xdpsink/udp_many", "pktrate2q/xdplb_redirect_xdpsink/udp_many",
                  "http/xdplb_1/close", "http/xdplb/keepalive", "http_p99/xdplb_1_vs_direct/keepalive",
                  "http_p99/xdplb_vs_nft_dnat/close", "maglev/1000", "backend_add/first_packet",
                  "memory/per_flow"]:
            self.assertIn(k, keys)

    def test_ratios_are_the_reports_same_run_ratios(self):
        r = row(NEW, "pktrate/xdplb_redirect/udp_many")
        self.assertEqual(r.ratio.median, NEW["packet_rate"]["ratio_vs_nft_dnat"]["udp_many"]["xdplb_redirect"]["median"])
        q = row(NEW, "pktrate2q/xdplb_redirect_xdpsink/udp_many")
        self.assertGreater(q.ratio.median, 0)


class Compare(unittest.TestCase):
    def test_a_report_against_itself_changes_nothing(self):
        text, regressions = br.compare(NEW, NEW)
        self.assertEqual(regressions, 0)
        self.assertNotIn("REGRESSION", text)
        self.assertNotIn("better", text.split("\n", 4)[-1])

    def test_every_row_of_both_reports_is_listed_once(self):
        text, _ = br.compare(OLD, NEW)
        for r in br.rows(NEW):
            self.assertEqual(sum(1 for line in text.splitlines() if line.startswith(f"| {r.label} |")), 1, r.label)

    # Read off the two reports by hand: rows whose ranges do not overlap, on the worse side for
    # the 19:22 run — the ratio where the row has one, the figure where it has none.
    REGRESSIONS = {
        "HTTP keep-alive: direct with xdplb attached",             # × direct 1.10 [1.06–1.15] -> 1.05 [0.87–1.06]
        "HTTP keep-alive p99: xdplb 2 backends vs direct to one",  # 0.89 [0.79–0.99] -> 1.23 [1.01–1.24]
        "HTTP one request per connection: nft DNAT + nginx least_conn proxy",  # 0.99 [0.96–1.03] -> 0.85 [0.83–0.87]
        "`backend add` → first packet at the new backend",        # 16.7 [13.4–19.9] -> 62.5 [45.2–79.8] ms
        "`backend add` command",                                   # 29.2 [21.3–37.1] -> 83.6 [76.1–91.2] ms
    }
    # The figure moved beyond its range (237 [234–239] vs 223 [217–225] ns) but the ratio
    # against the same run's trivial program did not (8.80 [8.67–9.56] vs 8.60 [8.35–9.38]).
    ABSOLUTE_ONLY = "known flow, redirect, trace (no match) (BPF_PROG_TEST_RUN)"

    def flags(self, text):
        out = {}
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 9 and cells[0] not in ("row", "---"):
                out[cells[0]] = cells[8]
        return out

    def test_rows_beyond_the_other_runs_range_are_flagged_and_counted(self):
        text, regressions = br.compare(OLD, NEW)
        flags = self.flags(text)
        self.assertEqual({k for k, v in flags.items() if v == "REGRESSION"}, self.REGRESSIONS)
        self.assertEqual(regressions, len(self.REGRESSIONS))
        self.assertIn(f"{regressions} regression(s)", text)
        self.assertEqual(flags[self.ABSOLUTE_ONLY], "absolute only (ratio holds)")

    def test_the_other_way_round_the_same_rows_read_as_better(self):
        text, regressions = br.compare(NEW, OLD)
        flags = self.flags(text)
        self.assertEqual(regressions, 0)
        for label in self.REGRESSIONS:
            self.assertEqual(flags[label], "better", label)

    def test_the_change_is_printed_absolute_and_as_ratio(self):
        text, _ = br.compare(OLD, NEW)
        r_old, r_new = row(OLD, "prog/known flow, DNAT + MACs + redirect"), row(NEW, "prog/known flow, DNAT + MACs + redirect")
        line = next(line for line in text.splitlines() if line.startswith("| known flow, DNAT + MACs + redirect"))
        self.assertIn(br.change(r_old.value, r_new.value), line)
        self.assertIn(br.change(r_old.ratio, r_new.ratio), line)


class Table(unittest.TestCase):
    def test_one_line_per_row_with_its_goal(self):
        text = br.table(NEW)
        lines = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| what")]
        self.assertEqual(len(lines), len(br.rows(NEW)))
        self.assertIn("≥ 1.8×", next(line for line in lines if "two RX queues" in line))


if __name__ == "__main__":
    unittest.main(verbosity=2)
