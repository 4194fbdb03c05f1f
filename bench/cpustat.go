package main

import (
	"os"
	"strconv"
	"strings"
)

// cpuTimes are the machine's per-CPU times from /proc/stat, in clock ticks:
// all of them and the busy ones (not idle, not waiting for I/O), whoever
// ran there.
type cpuTimes map[int]struct{ busy, total int64 }

func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	check(err)
	times := cpuTimes{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		cpu, err := strconv.Atoi(f[0][3:])
		check(err)
		var busy, total int64
		for i, v := range f[1:] {
			if i >= 8 { // guest times are counted in user and nice already
				break
			}
			n, err := strconv.ParseInt(v, 10, 64)
			check(err)
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		times[cpu] = struct{ busy, total int64 }{busy, total}
	}
	return times
}

// busyShare is the share of the time between before and after that cpu was
// busy (0 to 1).
func busyShare(before, after cpuTimes, cpu int) float64 {
	total := after[cpu].total - before[cpu].total
	if total <= 0 {
		return 0
	}
	return float64(after[cpu].busy-before[cpu].busy) / float64(total)
}
