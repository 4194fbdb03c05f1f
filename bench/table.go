package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// result is one load of one target.
type result struct {
	workload, target string
	rps              float64
	p50, p99         time.Duration
	cpuPerRequest    time.Duration
	errors           string
}

// row is a target's results over the rounds, in medians. The ratio and the
// differences are taken within each round, against plain reverse_proxy in
// the same workload, before the median: a machine that slows down for a
// while slows both sides of a pair.
type row struct {
	workload, target       string
	rps, ratio             float64
	p50, p99, p99Diff      float64 // ms
	cpuPerRequest, cpuDiff float64 // µs
	errors                 string
}

func medians(rounds [][]result) []row {
	var rows []row
	for j, first := range rounds[0] {
		var rps, ratio, p50, p99, p99Diff, cpu, cpuDiff []float64
		var errors []string
		for _, round := range rounds {
			r, base := round[j], plainOf(round, first.workload)
			rps = append(rps, r.rps)
			ratio = append(ratio, r.rps/base.rps)
			p50 = append(p50, ms(r.p50))
			p99 = append(p99, ms(r.p99))
			p99Diff = append(p99Diff, ms(r.p99-base.p99))
			cpu = append(cpu, µs(r.cpuPerRequest))
			cpuDiff = append(cpuDiff, µs(r.cpuPerRequest-base.cpuPerRequest))
			if r.errors != "" {
				errors = append(errors, r.errors)
			}
		}
		rows = append(rows, row{
			workload: first.workload, target: first.target,
			rps: median(rps), ratio: median(ratio), p50: median(p50), p99: median(p99), p99Diff: median(p99Diff),
			cpuPerRequest: median(cpu), cpuDiff: median(cpuDiff), errors: strings.Join(errors, "; "),
		})
	}
	return rows
}

func plainOf(round []result, workload string) result {
	for _, r := range round {
		if r.workload == workload && r.target == plainTarget {
			return r
		}
	}
	panic("no plain reverse_proxy result for " + workload)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func µs(d time.Duration) float64 { return float64(d) / 1e3 }

// saturatedTable is the throughput table.
func saturatedTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| workload | target | req/s | × plain | p50 | p99 | p99 − plain | Caddy CPU µs/req |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f | %.2f ms | %.2f ms | %+.2f ms | %.1f |%s\n",
			r.workload, r.target, r.rps, r.ratio, r.p50, r.p99, r.p99Diff, r.cpuPerRequest, errorNote(r))
	}
	return b.String()
}

// pacedTable is the latency table at a fixed rate.
func pacedTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| workload | target | p50 | p99 | p99 − plain | Caddy CPU µs/req | CPU − plain |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.2f ms | %.2f ms | %+.2f ms | %.1f | %+.1f |%s\n",
			r.workload, r.target, r.p50, r.p99, r.p99Diff, r.cpuPerRequest, r.cpuDiff, errorNote(r))
	}
	return b.String()
}

func errorNote(r row) string {
	if r.errors == "" {
		return ""
	}
	return " " + r.errors
}
