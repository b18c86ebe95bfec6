package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"tracesync/app"
)

var t0 = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)

func st(item string, qty float64, unit, loc string) *app.PackageState {
	return &app.PackageState{Item: item, Quantity: qty, Unit: unit, Location: loc}
}

func with(s *app.PackageState, f func(*app.PackageState)) *app.PackageState {
	c := *s
	f(&c)
	return &c
}

func pkg(local, metrc *app.PackageState) app.Package {
	p := app.Package{License: "L1", Label: "A", Local: local, Metrc: metrc}
	if metrc != nil {
		p.PulledAt = t0
	}
	return p
}

func job(id uint64, state app.JobState, kind app.JobKind, body any) app.Job {
	b, _ := json.Marshal(body)
	return app.Job{ID: id, License: "L1", Kind: kind, State: state, Body: b}
}

func adjust(id uint64, state app.JobState, label string, q float64) app.Job {
	return job(id, state, app.KindAdjust, app.PackageAdjust{Label: label, Quantity: q, UnitOfMeasure: "Grams"})
}

func move(id uint64, label, loc string) app.Job {
	return job(id, app.StatePending, app.KindChangeLocation, app.LocationChange{Label: label, Location: loc})
}

func finish(id uint64, label string) app.Job {
	return job(id, app.StatePending, app.KindFinish, app.PackageFinish{Label: label})
}

func create(id uint64, state app.JobState, tag, item string, q float64, unit string) app.Job {
	return job(id, state, app.KindCreatePackage, app.PackageCreate{Tag: tag, Item: item, Quantity: q, UnitOfMeasure: unit,
		Location: "Vault", Ingredients: []app.Ingredient{{Package: "SRC", Quantity: q, UnitOfMeasure: unit}}})
}

func sale(id uint64, label string, q float64) app.Job {
	return job(id, app.StatePending, app.KindSalesReceipt, app.SalesReceipt{ExternalReceiptNumber: "R1",
		Transactions: []app.SalesTransaction{{PackageLabel: label, Quantity: q, UnitOfMeasure: "Grams"}}})
}

// summary renders a plan as short lines, easy to compare with a table.
func summary(p Plan) []string {
	var out []string
	for _, r := range p.Repairs {
		for _, c := range r.Changes {
			out = append(out, fmt.Sprintf("repair %s %s %s -> %s", r.Label, c.Field, c.Before, c.After))
		}
	}
	for _, m := range p.Matches {
		out = append(out, fmt.Sprintf("match #%d %s", m.JobID, m.Label))
	}
	for _, f := range p.Findings {
		s := fmt.Sprintf("audit %s %s", f.Label, f.Kind)
		if f.Field != "" {
			s += " " + f.Field
		}
		out = append(out, s)
	}
	for _, u := range p.Unpin {
		out = append(out, "unpin "+u.Label+" "+u.Field)
	}
	for _, l := range p.Stale {
		out = append(out, "stale "+l)
	}
	return out
}

// TestRules has a row for every row of the rules table, first with no job
// on the label, then with a pending job, plus the stale-snapshot cases.
func TestRules(t *testing.T) {
	base := st("Flower", 10, "Grams", "Vault")
	onHold := with(base, func(s *app.PackageState) { s.OnHold = true })
	finished := with(base, func(s *app.PackageState) { s.Finished = true; s.Quantity = 0 })
	tests := []struct {
		name string
		p    app.Package
		jobs []app.Job
		want []string
	}{
		// No unfinished job on the label.
		{"same", pkg(base, base), nil, nil},
		{"quantity differs", pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 })), nil,
			[]string{"repair A quantity 10 -> 8"}},
		{"location differs", pkg(base, with(base, func(s *app.PackageState) { s.Location = "Shelf" })), nil,
			[]string{"repair A location Vault -> Shelf"}},
		{"finished in Metrc", pkg(base, finished), nil,
			[]string{"repair A finished active -> finished", "repair A quantity 10 -> 0"}},
		{"on hold in Metrc", pkg(base, onHold), nil, []string{"repair A onHold not on hold -> on hold"}},
		{"hold lifted in Metrc", pkg(onHold, base), nil, []string{"repair A onHold on hold -> not on hold"}},
		{"in Metrc, not local", pkg(nil, base), nil, []string{"repair A record  -> Flower, 10 Grams at Vault"}},
		{"finished in Metrc, not local", pkg(nil, finished), nil, nil},
		{"item differs", pkg(base, with(base, func(s *app.PackageState) { s.Item = "Shake" })), nil, []string{"audit A mislabel"}},
		{"unit differs", pkg(base, with(base, func(s *app.PackageState) { s.Unit = "Ounces"; s.Quantity = 1 })), nil, []string{"audit A mislabel"}},
		{"local not in Metrc", pkg(base, nil), nil, []string{"audit A lost"}},
		{"local finished, not in Metrc", pkg(finished, nil), nil, nil},
		{"finished locally, active in Metrc", pkg(finished, base), nil, []string{"audit A finished-here finished"}},
		{"both finished", pkg(finished, with(finished, func(s *app.PackageState) { s.Location = "X" })), nil, nil},
		{"pinned quantity", func() app.Package {
			p := pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 }))
			p.Pinned = []string{app.FieldQuantity}
			return p
		}(), nil, []string{"audit A pinned quantity"}},
		{"pinned quantity agrees again", func() app.Package {
			p := pkg(base, base)
			p.Pinned = []string{app.FieldQuantity}
			return p
		}(), nil, []string{"unpin A quantity"}},
		{"pinned import", func() app.Package {
			p := pkg(nil, base)
			p.Pinned = []string{app.FieldRecord}
			return p
		}(), nil, []string{"audit A pinned record"}},

		// With an unfinished job on the label: against Metrc plus the change.
		{"quantity: pending adjust explains it", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }), base),
			[]app.Job{adjust(1, app.StatePending, "A", -2)}, nil},
		{"quantity: pending sale explains it", pkg(with(base, func(s *app.PackageState) { s.Quantity = 7 }), base),
			[]app.Job{sale(1, "A", 3)}, nil},
		{"quantity: pending ingredient use explains it", func() app.Package {
			p := pkg(with(base, func(s *app.PackageState) { s.Quantity = 6 }), base)
			p.Label = "SRC"
			return p
		}(), []app.Job{create(1, app.StatePending, "NEW", "Pre-roll", 4, "Grams")}, nil},
		{"quantity: unknown adjust already applied in Metrc", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }),
			with(base, func(s *app.PackageState) { s.Quantity = 8 })), []app.Job{adjust(1, app.StateUnknown, "A", -2)}, nil},
		{"quantity: double entry (Metrc changed too)", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }),
			with(base, func(s *app.PackageState) { s.Quantity = 8 })), []app.Job{adjust(1, app.StatePending, "A", -2)},
			[]string{"audit A conflict quantity"}},
		{"quantity: untouched by a pending move", pkg(with(base, func(s *app.PackageState) { s.Location = "Shelf" }),
			with(base, func(s *app.PackageState) { s.Quantity = 9 })), []app.Job{move(1, "A", "Shelf")},
			[]string{"repair A quantity 10 -> 9"}},
		{"location: pending move explains it", pkg(with(base, func(s *app.PackageState) { s.Location = "Shelf" }), base),
			[]app.Job{move(1, "A", "Shelf")}, nil},
		{"location: moved in Metrc too, the pending move wins", pkg(with(base, func(s *app.PackageState) { s.Location = "Shelf" }),
			with(base, func(s *app.PackageState) { s.Location = "Back" })), []app.Job{move(1, "A", "Shelf")}, nil},
		{"location: local differs from Metrc plus the pending move", pkg(with(base, func(s *app.PackageState) { s.Location = "Front" }),
			with(base, func(s *app.PackageState) { s.Location = "Back" })), []app.Job{move(1, "A", "Shelf")},
			[]string{"audit A conflict location"}},
		{"location: untouched by a pending adjust", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }),
			with(base, func(s *app.PackageState) { s.Location = "Back" })), []app.Job{adjust(1, app.StatePending, "A", -2)},
			[]string{"repair A location Vault -> Back"}},
		{"finished in Metrc while a job adjusts it", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }), finished),
			[]app.Job{adjust(1, app.StatePending, "A", -2)}, []string{"audit A conflict finished"}},
		{"finished: pending finish explains it", pkg(finished, with(base, func(s *app.PackageState) { s.Quantity = 0 })),
			[]app.Job{finish(1, "A")}, nil},
		{"on hold in Metrc with a pending adjust", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }), onHold),
			[]app.Job{adjust(1, app.StatePending, "A", -2)}, []string{"repair A onHold not on hold -> on hold"}},
		{"in Metrc, not local, pending create the same: matched and imported", pkg(nil, st("Pre-roll", 4, "Grams", "Vault")),
			[]app.Job{create(1, app.StatePending, "A", "Pre-roll", 4, "Grams")},
			[]string{"repair A record  -> Pre-roll, 4 Grams at Vault", "match #1 A"}},
		{"assembly entered on both sides: matched", pkg(st("Pre-roll", 4, "Grams", "Vault"), st("Pre-roll", 4, "Grams", "Vault")),
			[]app.Job{create(1, app.StateRetrying, "A", "Pre-roll", 4, "Grams")}, []string{"match #1 A"}},
		{"assembly entered twice with differences", pkg(st("Pre-roll", 4, "Grams", "Vault"), st("Pre-roll", 5, "Grams", "Vault")),
			[]app.Job{create(1, app.StatePending, "A", "Pre-roll", 4, "Grams")}, []string{"audit A entered-twice"}},
		{"item differs with a pending adjust", pkg(with(base, func(s *app.PackageState) { s.Quantity = 8 }),
			with(base, func(s *app.PackageState) { s.Item = "Shake" })), []app.Job{adjust(1, app.StatePending, "A", -2)},
			[]string{"audit A mislabel"}},
		{"local not in Metrc, pending create", pkg(st("Pre-roll", 4, "Grams", "Vault"), nil),
			[]app.Job{create(1, app.StatePending, "A", "Pre-roll", 4, "Grams")}, nil},
		{"local not in Metrc, pending create, then sold", pkg(st("Pre-roll", 3, "Grams", "Vault"), nil),
			[]app.Job{create(1, app.StatePending, "A", "Pre-roll", 4, "Grams"), sale(2, "A", 1)}, nil},
		{"local not in Metrc, pending adjust only", pkg(base, nil),
			[]app.Job{adjust(1, app.StatePending, "A", -2)}, []string{"audit A lost"}},
		{"a finished job is no longer pending", pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 })),
			[]app.Job{adjust(1, app.StateDone, "A", -2)}, []string{"repair A quantity 10 -> 8"}},
		{"a job on another label", pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 })),
			[]app.Job{adjust(1, app.StatePending, "B", -2)}, []string{"repair A quantity 10 -> 8"}},

		// Stale snapshots: pulled before the label's last finished job.
		{"stale snapshot not compared", func() app.Package {
			p := pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 }))
			p.LastJobFinished = t0.Add(time.Minute)
			return p
		}(), nil, []string{"stale A"}},
		{"snapshot after the last finished job", func() app.Package {
			p := pkg(base, with(base, func(s *app.PackageState) { s.Quantity = 8 }))
			p.LastJobFinished = t0.Add(-time.Minute)
			return p
		}(), nil, []string{"repair A quantity 10 -> 8"}},
		{"absent from Metrc, last pull before the job finished", func() app.Package {
			p := pkg(base, nil)
			p.LastJobFinished = t0.Add(time.Minute)
			return p
		}(), nil, []string{"stale A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Compare(Input{License: "L1", Packages: []app.Package{tt.p}, Jobs: tt.jobs, PulledAt: t0})
			got := summary(plan)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestCompareDoesNotTouchInput: the comparison is pure.
func TestCompareDoesNotTouchInput(t *testing.T) {
	p := pkg(st("Flower", 10, "Grams", "Vault"), st("Flower", 8, "Grams", "Shelf"))
	in := Input{License: "L1", Packages: []app.Package{p}}
	plan := Compare(in)
	if len(plan.Repairs) != 1 || plan.Repairs[0].After.Quantity != 8 || plan.Repairs[0].After.Location != "Shelf" {
		t.Fatalf("plan %+v", plan.Repairs)
	}
	if in.Packages[0].Local.Quantity != 10 || in.Packages[0].Local.Location != "Vault" {
		t.Fatalf("input changed: %+v", in.Packages[0].Local)
	}
}

// TestMatchedAssemblyUsesNoIngredients: once a queued assembly is matched,
// its ingredients' use is Metrc's own, not pending any more.
func TestMatchedAssemblyUsesNoIngredients(t *testing.T) {
	src := app.Package{License: "L1", Label: "SRC", Local: st("Flower", 16, "Grams", "Vault"), Metrc: st("Flower", 16, "Grams", "Vault"), PulledAt: t0}
	made := app.Package{License: "L1", Label: "P1", Local: st("Pre-roll", 4, "Grams", "Vault"), Metrc: st("Pre-roll", 4, "Grams", "Vault"), PulledAt: t0}
	plan := Compare(Input{License: "L1", Packages: []app.Package{made, src}, PulledAt: t0,
		Jobs: []app.Job{create(1, app.StatePending, "P1", "Pre-roll", 4, "Grams")}})
	if got := summary(plan); !slices.Equal(got, []string{"match #1 P1"}) {
		t.Fatalf("got %q", got)
	}
}
