package reconcile

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"tracesync/app"
)

// CSVHeader is the first row RenderCSV writes. Every row is one line of the
// report; Section says which part (repair, matched, audit, needs-attention,
// oldest-unfinished, outage).
var CSVHeader = []string{"Date", "License", "Section", "Label", "Kind", "Field", "Local", "Metrc", "Time", "Detail"}

// RenderCSV writes the report as CSV, times in each license's zone.
func RenderCSV(w io.Writer, rep app.Report) error {
	cw := csv.NewWriter(w)
	rows := [][]string{CSVHeader}
	for _, l := range rep.Licenses {
		loc := zone(l)
		ts := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format(time.RFC3339)
		}
		row := func(section, label, kind, field, local, metrc string, at time.Time, detail string) {
			rows = append(rows, []string{rep.Date, l.License, section, label, kind, field, local, metrc, ts(at), detail})
		}
		for _, x := range l.Repairs {
			d := x.Rule
			if x.Undone {
				d += " (undone " + ts(x.UndoneAt) + ")"
			}
			row("repair", x.Label, "repair #"+strconv.FormatUint(x.ID, 10), x.Field, x.Before, x.After, x.At, d)
		}
		for _, j := range l.Matches {
			row("matched", strings.Join(j.Labels, " "), string(j.Kind), "", "", "", j.Updated, fmt.Sprintf("job #%d (%s) matched, not sent", j.ID, j.Key))
		}
		for _, a := range l.OpenAudit {
			d := a.Why
			if a.JobID != 0 {
				d += fmt.Sprintf(" (job #%d)", a.JobID)
			}
			if a.Expected != nil {
				d += "; Metrc plus pending: " + renderPtr(a.Expected)
			}
			row("audit", a.Label, string(a.Kind), a.Field, renderPtr(a.Local), renderPtr(a.Metrc), a.FirstSeen, d)
		}
		for _, j := range l.NeedsAttention {
			row("needs-attention", strings.Join(j.Labels, " "), string(j.Kind), "", "", "", j.Created, jobDetail(j))
		}
		if l.Oldest != nil {
			j := *l.Oldest
			row("oldest-unfinished", strings.Join(j.Labels, " "), string(j.Kind), "", "", "", j.Created,
				fmt.Sprintf("%s; %d unfinished", jobDetail(j), l.Unfinished))
		}
		for _, o := range l.Outages {
			row("outage", "", "", "", "", "", o.Start, outageDetail(o, loc))
		}
		if l.OutagesUnknown != "" {
			row("outage", "", "", "", "", "", time.Time{}, "unknown: "+l.OutagesUnknown)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	return nil
}

func zone(l app.LicenseReport) *time.Location {
	return app.License{TimeZone: l.TimeZone}.Location()
}

func jobDetail(j app.JobSummary) string {
	s := fmt.Sprintf("job #%d %s (%s)", j.ID, j.State, j.Key)
	if j.Reason != "" {
		s += ": " + j.Reason
	}
	if j.LastError != "" {
		s += "; last error: " + j.LastError
	}
	return s
}

func outageDetail(o app.OutageWindow, loc *time.Location) string {
	end := "ongoing"
	if !o.End.IsZero() {
		end = "until " + o.End.In(loc).Format(time.RFC3339) + " (" + o.End.Sub(o.Start).Round(time.Second).String() + ")"
	}
	s := fmt.Sprintf("%s, %d failed calls", end, o.FailedCalls)
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	return s
}

// RenderText writes a short plain-text summary (the mail's text part).
func RenderText(w io.Writer, rep app.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tracesync report for %s\n", rep.Date)
	for _, l := range rep.Licenses {
		fmt.Fprintf(&b, "\n%s %s (%s)\n", l.License, l.Name, l.TimeZone)
		fmt.Fprintf(&b, "  repairs: %d\n  matched assemblies: %d\n  open audit items: %d\n  jobs needing attention: %d\n  unfinished jobs: %d\n",
			len(l.Repairs), len(l.Matches), len(l.OpenAudit), len(l.NeedsAttention), l.Unfinished)
		if l.Oldest != nil {
			fmt.Fprintf(&b, "  oldest unfinished: job #%d, created %s\n", l.Oldest.ID, l.Oldest.Created.In(zone(l)).Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "  outage windows: %d\n", len(l.Outages))
	}
	b.WriteString("\nThe full report is in the HTML part and the attached CSV.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"ts": func(l app.LicenseReport, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(zone(l)).Format("2006-01-02 15:04:05")
	},
	"state":  renderPtr,
	"join":   strings.Join,
	"job":    jobDetail,
	"outage": func(l app.LicenseReport, o app.OutageWindow) string { return outageDetail(o, zone(l)) },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>tracesync report {{.Date}}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>
</head><body>
<h1>tracesync report for {{.Date}}</h1>
<p>Generated {{.Generated.Format "2006-01-02 15:04:05 MST"}}.</p>
{{range $l := .Licenses}}
<h2>{{$l.License}} {{$l.Name}}</h2>
<p>Day in {{$l.TimeZone}}: {{ts $l $l.From}} to {{ts $l $l.To}}. Unfinished jobs: {{$l.Unfinished}}.</p>
<h3>Repairs ({{len $l.Repairs}})</h3>
{{if $l.Repairs}}<table><tr><th>#</th><th>Label</th><th>Field</th><th>Before</th><th>After</th><th>When</th><th>Rule</th></tr>
{{range $l.Repairs}}<tr><td>{{.ID}}</td><td>{{.Label}}</td><td>{{.Field}}</td><td>{{.Before}}</td><td>{{.After}}</td><td>{{ts $l .At}}</td><td>{{.Rule}}{{if .Undone}} (undone){{end}}</td></tr>
{{end}}</table>{{end}}
<h3>Matched assemblies ({{len $l.Matches}})</h3>
{{if $l.Matches}}<table><tr><th>Job</th><th>Label</th><th>When</th></tr>
{{range $l.Matches}}<tr><td>#{{.ID}}</td><td>{{join .Labels " "}}</td><td>{{ts $l .Updated}}</td></tr>
{{end}}</table>{{end}}
<h3>Open audit items ({{len $l.OpenAudit}})</h3>
{{if $l.OpenAudit}}<table><tr><th>#</th><th>Label</th><th>Kind</th><th>Local</th><th>Metrc</th><th>Metrc plus pending</th><th>Why</th><th>First seen</th></tr>
{{range $l.OpenAudit}}<tr><td>{{.ID}}</td><td>{{.Label}}</td><td>{{.Kind}} {{.Field}}</td><td>{{state .Local}}</td><td>{{state .Metrc}}</td><td>{{state .Expected}}</td><td>{{.Why}}{{if .JobID}} (job #{{.JobID}}){{end}}</td><td>{{ts $l .FirstSeen}}</td></tr>
{{end}}</table>{{end}}
<h3>Jobs needing attention ({{len $l.NeedsAttention}})</h3>
{{if $l.NeedsAttention}}<ul>{{range $l.NeedsAttention}}<li>{{job .}}</li>{{end}}</ul>{{end}}
<h3>Oldest unfinished job</h3>
<p>{{with $l.Oldest}}{{job .}}, created {{ts $l .Created}}{{else}}none{{end}}</p>
<h3>Outage windows ({{len $l.Outages}})</h3>
{{if $l.Outages}}<ul>{{range $l.Outages}}<li>{{ts $l .Start}}: {{outage $l .}}</li>{{end}}</ul>{{end}}
{{if $l.OutagesUnknown}}<p>Outage windows unknown: {{$l.OutagesUnknown}}</p>{{end}}
{{end}}
</body></html>
`))

// RenderHTML writes the report as a standalone HTML page.
func RenderHTML(w io.Writer, rep app.Report) error {
	if err := htmlReport.Execute(w, rep); err != nil {
		return fmt.Errorf("write report html: %w", err)
	}
	return nil
}
