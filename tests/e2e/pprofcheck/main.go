// pprofcheck reads a profile with google/pprof's own parser
// (github.com/google/pprof/profile, from Debian's
// golang-github-google-pprof-dev), checks it with CheckValid, and prints
// what the tests compare as JSON: the mapping table, every location's
// address and mapping id, and the locations that lie outside their mapping. Strings that may hold any bytes (file
// names, build IDs, comments) are []byte, which encoding/json writes as
// base64, so nothing is replaced on the way.
//
// Built by tests/e2e/test_pprof.py in GOPATH mode without network:
// GO111MODULE=off GOPATH=/usr/share/gocode.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/pprof/profile"
)

type mapping struct {
	ID, Start, Limit, Offset uint64
	File, BuildID            []byte
	HasFunctions             bool
	HasFilenames             bool
	HasLineNumbers           bool
	HasInlineFrames          bool
}

type location struct {
	ID, Address, MappingID uint64
}

type result struct {
	Valid       string // "" when CheckValid accepts the profile
	TimeNanos   int64
	Comments    [][]byte
	SampleTypes []string
	PeriodType  string
	Period      int64
	Samples     [][]int64 // the values of each sample
	SampleMaps  []uint64  // the mapping id of each sample's first location
	Mappings    []mapping
	Locations   []location
	// Each location with an address and a mapping whose address is not
	// in [Start, Limit) of that mapping, described; CheckValid does not
	// look, but a symbolizer would use the wrong module.
	Outside []string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pprofcheck PROFILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := profile.Parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile.Parse:", err)
		os.Exit(1)
	}
	var r result
	if err := p.CheckValid(); err != nil {
		r.Valid = err.Error()
	}
	r.TimeNanos = p.TimeNanos
	for _, c := range p.Comments {
		r.Comments = append(r.Comments, []byte(c))
	}
	for _, st := range p.SampleType {
		r.SampleTypes = append(r.SampleTypes, st.Type+"/"+st.Unit)
	}
	if p.PeriodType != nil {
		r.PeriodType = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	r.Period = p.Period
	for _, s := range p.Sample {
		r.Samples = append(r.Samples, s.Value)
		var id uint64
		if len(s.Location) > 0 && s.Location[0].Mapping != nil {
			id = s.Location[0].Mapping.ID
		}
		r.SampleMaps = append(r.SampleMaps, id)
	}
	for _, m := range p.Mapping {
		r.Mappings = append(r.Mappings, mapping{
			ID: m.ID, Start: m.Start, Limit: m.Limit, Offset: m.Offset,
			File: []byte(m.File), BuildID: []byte(m.BuildID),
			HasFunctions: m.HasFunctions, HasFilenames: m.HasFilenames,
			HasLineNumbers: m.HasLineNumbers, HasInlineFrames: m.HasInlineFrames,
		})
	}
	for _, l := range p.Location {
		var id uint64
		if l.Mapping != nil {
			id = l.Mapping.ID
			if l.Address != 0 && (l.Address < l.Mapping.Start || l.Address >= l.Mapping.Limit) {
				r.Outside = append(r.Outside, fmt.Sprintf(
					"location %d at %#x outside mapping %d [%#x, %#x)",
					l.ID, l.Address, id, l.Mapping.Start, l.Mapping.Limit))
			}
		}
		r.Locations = append(r.Locations, location{ID: l.ID, Address: l.Address, MappingID: id})
	}
	if err := json.NewEncoder(os.Stdout).Encode(&r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
