package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PossibleCPUs is the number of values a per-CPU map holds per key: the
// highest possible CPU plus one, which can exceed the number online.
func (e *Env) PossibleCPUs() (int, error) {
	return e.cpus.get(func() (int, error) {
		data, err := os.ReadFile(e.paths.PossibleCPUs)
		if err != nil {
			return 0, err
		}
		return parseCPURanges(strings.TrimSpace(string(data)))
	})
}

// maxPossibleCPUs is far above any kernel's NR_CPUS (8192 at most): a
// per-CPU value buffer is the value size times the count, so a count
// beyond it is refused rather than allocated.
const maxPossibleCPUs = 1 << 16

// parseCPURanges reads the kernel's CPU list format ("0-3,8") and returns
// the highest CPU number plus one.
func parseCPURanges(s string) (int, error) {
	highest := -1
	for _, part := range strings.Split(s, ",") {
		last := part
		if _, hi, ok := strings.Cut(part, "-"); ok {
			last = hi
		}
		n, err := strconv.Atoi(last)
		if err != nil {
			return 0, fmt.Errorf("possible CPUs %q: %w", s, err)
		}
		highest = max(highest, n)
	}
	if highest < 0 {
		return 0, fmt.Errorf("possible CPUs %q: empty", s)
	}
	if highest >= maxPossibleCPUs {
		return 0, fmt.Errorf("possible CPUs %q: more than %d", s, maxPossibleCPUs)
	}
	return highest + 1, nil
}
