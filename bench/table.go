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
	// busy is each CPU's busy share over the load (0 to 1), whoever ran.
	busy      map[int]float64
	fallbacks float64
	// caddyShare and loadShare are the CPU time of Caddy and of the load
	// side (wrk, the origin, redis-server) over the load's wall time.
	caddyShare, loadShare float64
	// caddyBusy and loadBusy are the busy shares of Caddy's core and of the
	// load side's, and invalid says why the load's figures are not Caddy's
	// (one-core mode only).
	caddyBusy, loadBusy float64
	invalid             string
}

// row is a target's results over the rounds, in medians. The ratios and the
// differences are taken within each round, against plain reverse_proxy and
// against the static floor in the same workload, before the median: a
// machine that slows down for a while slows both sides of a pair.
type row struct {
	workload, target                     string
	rps, ratio, floorRatio               float64
	p50, p99, p99Diff                    float64 // ms
	cpuPerRequest, cpuDiff, cpuFloorDiff float64 // µs
	caddyShare, caddyBusy                float64
	loadShare, loadBusy                  float64
	errors                               string
}

func medians(rounds [][]result) []row {
	var rows []row
	for j, first := range rounds[0] {
		var rps, ratio, floorRatio, p50, p99, p99Diff, cpu, cpuDiff, cpuFloorDiff []float64
		var caddyShare, caddyBusy, loadShare, loadBusy []float64
		var errors, invalid []string
		for _, round := range rounds {
			r, base, floor := round[j], targetOf(round, first.workload, plainTarget), targetOf(round, first.workload, floorTarget)
			rps = append(rps, r.rps)
			ratio = append(ratio, r.rps/base.rps)
			floorRatio = append(floorRatio, r.rps/floor.rps)
			p50 = append(p50, ms(r.p50))
			p99 = append(p99, ms(r.p99))
			p99Diff = append(p99Diff, ms(r.p99-base.p99))
			cpu = append(cpu, µs(r.cpuPerRequest))
			cpuDiff = append(cpuDiff, µs(r.cpuPerRequest-base.cpuPerRequest))
			cpuFloorDiff = append(cpuFloorDiff, µs(r.cpuPerRequest-floor.cpuPerRequest))
			caddyShare, caddyBusy = append(caddyShare, r.caddyShare), append(caddyBusy, r.caddyBusy)
			loadShare, loadBusy = append(loadShare, r.loadShare), append(loadBusy, r.loadBusy)
			if r.errors != "" {
				errors = append(errors, r.errors)
			}
			for _, pair := range []result{r, base, floor} {
				if pair.invalid != "" {
					invalid = append(invalid, pair.target+": "+pair.invalid)
					break
				}
			}
		}
		if len(invalid) > 0 {
			errors = append(errors, fmt.Sprintf("NOT VALID in %d of %d rounds (%s)", len(invalid), len(rounds), strings.Join(invalid, "; ")))
		}
		rows = append(rows, row{
			workload: first.workload, target: first.target,
			rps: median(rps), ratio: median(ratio), floorRatio: median(floorRatio),
			p50: median(p50), p99: median(p99), p99Diff: median(p99Diff),
			cpuPerRequest: median(cpu), cpuDiff: median(cpuDiff), cpuFloorDiff: median(cpuFloorDiff),
			caddyShare: median(caddyShare), caddyBusy: median(caddyBusy), loadShare: median(loadShare), loadBusy: median(loadBusy),
			errors: strings.Join(errors, "; "),
		})
	}
	return rows
}

// targetOf is the round's result of the named target in the workload.
func targetOf(round []result, workload, target string) result {
	for _, r := range round {
		if r.workload == workload && r.target == target {
			return r
		}
	}
	panic("no " + target + " result for " + workload)
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

// oneCoreTable is the one-core mode's table: throughput and Caddy's CPU
// against plain reverse_proxy and against the static floor, and how busy
// Caddy's core and the load side's were.
func oneCoreTable(rows []row) string {
	return table(rows, workloadColumn, targetColumn,
		column{"req/s", func(r row) string { return fmt.Sprintf("%.0f", r.rps) }},
		column{"× plain", func(r row) string { return fmt.Sprintf("%.2f", r.ratio) }},
		column{"× floor", func(r row) string { return fmt.Sprintf("%.2f", r.floorRatio) }},
		cpuColumn,
		column{"CPU − plain", func(r row) string { return fmt.Sprintf("%+.1f", r.cpuDiff) }},
		column{"CPU − floor", func(r row) string { return fmt.Sprintf("%+.1f", r.cpuFloorDiff) }},
		column{"Caddy core: Caddy / busy", func(r row) string { return fmt.Sprintf("%.0f / %.0f %%", 100*r.caddyShare, 100*r.caddyBusy) }},
		column{"load core: load / busy", func(r row) string { return fmt.Sprintf("%.0f / %.0f %%", 100*r.loadShare, 100*r.loadBusy) }})
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
