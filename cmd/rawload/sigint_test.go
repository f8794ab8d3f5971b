package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawload/rawload/syscall"
)

// TestRunSIGINT runs the built binary, as a user does, and interrupts it
// with SIGINT: it exits 0, and its link and program are gone from the
// kernel.
func TestRunSIGINT(t *testing.T) {
	requireKernel(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)

	obj, err := filepath.Abs(testdata("reload.o"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--json", obj)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// run prints one JSON document once everything is attached.
	var doc strings.Builder
	var records []attachRecord
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		doc.WriteString(sc.Text() + "\n")
		if sc.Text() == "]" {
			break
		}
	}
	if err := json.Unmarshal([]byte(doc.String()), &records); err != nil || len(records) != 1 || records[0].LinkID == 0 {
		t.Fatalf("run's document: %v\n%s\nstderr: %s", err, doc.String(), stderr.String())
	}
	id := records[0].LinkID
	fd, err := syscall.LinkGetFDByID(id)
	if err != nil {
		t.Fatalf("link %d not in the kernel: %v", id, err)
	}
	info, err := syscall.LinkInfoByFD(fd)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run after SIGINT: %v\nstderr: %s", err, stderr.String())
	}
	if fd, err := syscall.LinkGetFDByID(id); !errors.Is(err, unix.ENOENT) {
		if err == nil {
			unix.Close(fd)
		}
		t.Errorf("link %d outlived run: %v", id, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fd, err := syscall.ProgGetFDByID(info.ProgID)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err == nil {
			unix.Close(fd)
		}
		if time.Now().After(deadline) {
			t.Fatalf("program %d outlived run", info.ProgID)
		}
	}
}
