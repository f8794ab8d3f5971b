package main

import (
	"context"
	"io"
	"slices"
	"time"

	"github.com/rawload/rawload/bpf"
)

// verdict is what load and verify report for one program. Its JSON form
// is the record of `verify --json`.
type verdict struct {
	Object        string `json:"object"`
	Program       string `json:"program"`
	Section       string `json:"section"`
	Type          string `json:"type"`
	Loaded        bool   `json:"loaded"`
	Error         string `json:"error"`
	Insns         int    `json:"insns"`
	VerifiedInsns uint32 `json:"verified_insns"`
	LoadNS        int64  `json:"load_ns"`

	err error
	log string
}

func (v *verdict) fail(err error) {
	v.err = err
	v.Error = programError(v.Program, err)
}

func (v *verdict) loadTime() time.Duration { return time.Duration(v.LoadNS) }

func (v *verdict) verdictName() string {
	if v.Loaded {
		return "success"
	}
	return "failure"
}

// loadEach loads the selected programs of obj, each on its own: a failure
// never stops the others (Object.LoadEach). It returns a verdict per
// selected program, in file order, and fails only when obj cannot load at
// all.
func loadEach(ctx context.Context, obj *bpf.Object, selected []*bpf.Program, progress io.Writer) ([]verdict, error) {
	for _, p := range obj.Programs() {
		t := bpf.LoadDisabled
		if slices.Contains(selected, p) {
			t = bpf.LoadAuto
		}
		if err := p.SetLoadType(t); err != nil {
			return nil, err
		}
	}
	stop := showProgress(progress, obj, len(selected))
	results, err := obj.LoadEach(ctx)
	stop()
	if err != nil {
		return nil, err
	}
	verdicts := make([]verdict, len(results))
	for i, r := range results {
		spec := r.Program.Spec()
		v := verdict{
			Program:       spec.Name,
			Section:       spec.Section,
			Type:          spec.Type.String(),
			Loaded:        r.Err == nil,
			Insns:         spec.Insns,
			VerifiedInsns: r.VerifiedInsns,
			LoadNS:        r.Duration.Nanoseconds(),
			log:           r.Program.VerifierLog(),
		}
		if r.Err != nil {
			v.fail(r.Err)
		}
		verdicts[i] = v
	}
	return verdicts, nil
}

// exitStatus is exitFailure when any program failed to load.
func exitStatus(verdicts []verdict) int {
	for _, v := range verdicts {
		if !v.Loaded {
			return exitFailure
		}
	}
	return exitOK
}
