package bpf_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rawload/rawload/bpf"
)

// Example is the README's Go example, compiled with the package so that
// it stays true.
func Example() {
	ctx := context.Background()
	obj, err := bpf.Open("testdata/loader.o", &bpf.Options{Parallelism: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer obj.Close()

	// Programs are LoadAuto by default; Dynamic ones wait for Program.Load.
	obj.Program("prog_string").SetLoadType(bpf.LoadDynamic)
	if err := obj.Load(ctx); err != nil { // a *bpf.VerifierError per failed program
		log.Fatal(err)
	}
	ret, err := obj.Program("prog_counter").TestRun(make([]byte, 64))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("prog_counter returned", ret)

	p := obj.Program("prog_string")
	p.Load()   // creates the maps it uses if they are not live
	p.Unload() // any number of times, from any goroutine

	results := obj.Map("results") // results.FD() is the same number for the Object's life
	results.Destroy()             // ErrMapInUse while a loaded program uses it
	results.Create()

	v, err := obj.Variable("data_counter") // globals of .data/.rodata/.bss, mmapped
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, v.Size())
	v.Read(buf)
}
