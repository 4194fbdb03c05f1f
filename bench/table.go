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

// column is one column of a table: its title and how a row shows in it.
type column struct {
	title string
	cell  func(row) string
}

var (
	workloadColumn = column{"workload", func(r row) string { return r.workload }}
	targetColumn   = column{"target", func(r row) string { return r.target }}
	p50Column      = column{"p50", func(r row) string { return fmt.Sprintf("%.2f ms", r.p50) }}
	p99Column      = column{"p99", func(r row) string { return fmt.Sprintf("%.2f ms", r.p99) }}
	p99DiffColumn  = column{"p99 − plain", func(r row) string { return fmt.Sprintf("%+.2f ms", r.p99Diff) }}
	cpuColumn      = column{"Caddy CPU µs/req", func(r row) string { return fmt.Sprintf("%.1f", r.cpuPerRequest) }}
)

// saturatedTable is the throughput table.
func saturatedTable(rows []row) string {
	return table(rows, workloadColumn, targetColumn,
		column{"req/s", func(r row) string { return fmt.Sprintf("%.0f", r.rps) }},
		column{"× plain", func(r row) string { return fmt.Sprintf("%.2f", r.ratio) }},
		p50Column, p99Column, p99DiffColumn, cpuColumn)
}

// pacedTable is the latency table at a fixed rate.
func pacedTable(rows []row) string {
	return table(rows, workloadColumn, targetColumn, p50Column, p99Column, p99DiffColumn, cpuColumn,
		column{"CPU − plain", func(r row) string { return fmt.Sprintf("%+.1f", r.cpuDiff) }})
}

// table renders rows as markdown, the text columns left and the figures
// right aligned, with any errors after the last column.
func table(rows []row, columns ...column) string {
	var b strings.Builder
	for _, c := range columns {
		b.WriteString("| " + c.title + " ")
	}
	b.WriteString("|\n|---|---|" + strings.Repeat("---:|", len(columns)-2) + "\n")
	for _, r := range rows {
		for _, c := range columns {
			b.WriteString("| " + c.cell(r) + " ")
		}
		b.WriteString("|")
		if r.errors != "" {
			b.WriteString(" " + r.errors)
		}
		b.WriteString("\n")
	}
	return b.String()
}
