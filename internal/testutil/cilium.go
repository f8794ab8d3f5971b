package testutil

import (
	"errors"
	"os/exec"
	"strings"
	"sync"
)

// ciliumDir caches the directory once found; go list is slow to ask.
var ciliumDir struct {
	sync.Mutex
	dir string
}

// CiliumDir is the module directory of the github.com/cilium/ebpf the
// calling module requires, whose test objects, split BTF and examples are
// the peer objects rawload is checked against. They are used in place,
// never copied.
func CiliumDir() (string, error) {
	ciliumDir.Lock()
	defer ciliumDir.Unlock()
	if ciliumDir.dir != "" {
		return ciliumDir.dir, nil
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list printed no directory for github.com/cilium/ebpf")
	}
	ciliumDir.dir = dir
	return dir, nil
}
