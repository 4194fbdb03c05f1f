// Package proc reads facts about a running process from /proc (Linux), for
// the tests and the benchmark that watch Caddy from outside.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSSMB is the resident memory of process pid, in MB.
func RSSMB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}
