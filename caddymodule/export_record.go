package caddymodule

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// field is one exported column. Its value keeps its type so that JSON lines
// carry numbers as numbers, booleans as booleans and an absent value as
// null, which analytics engines (DuckDB, pandas, BigQuery) type by.
type field struct {
	name  string
	value any // string, int64, bool, or nil when absent
}

// record is one exported row, its fields in column order.
type record []field

func clientRecord(o sessionstore.Object) record {
	return record{
		{"client_id", idValue(o.ClientID)},
		{"first_seen", timeValue(o.FirstSeen)},
		{"last_seen", timeValue(o.LastSeen)},
		{"session_id", idValue(o.SessionID)},
		{"session_started", timeValue(o.SessionStarted)},
		{"session_number", o.SessionNumber},
		{"event_number", o.EventNumber},
		{"total_events", o.TotalEvents},
		{"last_event_id", idValue(o.LastEventID)},
		{"user_id", textValue(o.UserID)},
	}
}

func sessionRecord(r sessionstore.SessionRow) record {
	return record{
		{"session_id", idValue(r.SessionID)},
		{"client_id", idValue(r.ClientID)},
		{"started", timeValue(r.Started)},
		{"last_seen", timeValue(r.LastSeen)},
		{"events", r.Events},
		{"landing_path", textValue(r.LandingPath)},
		{"referrer_origin", textValue(r.ReferrerOrigin)},
		{"utm_source", textValue(r.UTMSource)},
		{"utm_medium", textValue(r.UTMMedium)},
		{"utm_campaign", textValue(r.UTMCampaign)},
		{"utm_term", textValue(r.UTMTerm)},
		{"utm_content", textValue(r.UTMContent)},
		{"click_id_param", textValue(r.ClickIDParam)},
		{"country", textValue(r.Country)},
		{"continent", textValue(r.Continent)},
		{"region", textValue(r.Region)},
		{"city", textValue(r.City)},
		{"user_id", textValue(r.UserID)},
	}
}

func idValue(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}

// timeValue is RFC 3339 in UTC with exactly three fractional digits: the
// store keeps milliseconds, and one fixed width lets DuckDB's reader detect
// the column as a timestamp (a mix of widths leaves it text).
func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func textValue(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// recordWriter writes records in one export format.
type recordWriter interface {
	write(record) error
	flush() error
}

func newRecordWriter(w io.Writer, format string) (recordWriter, error) {
	switch format {
	case "csv":
		return &csvRecords{w: csv.NewWriter(w)}, nil
	case "jsonl":
		return &jsonRecords{w: bufio.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("--format must be csv or jsonl, not %q", format)
}

// jsonRecords writes one JSON object per line, keys in column order.
type jsonRecords struct {
	w *bufio.Writer
}

func (j *jsonRecords) write(r record) error {
	j.w.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			j.w.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		value, err := json.Marshal(f.value)
		if err != nil {
			return err
		}
		j.w.Write(name)
		j.w.WriteByte(':')
		j.w.Write(value)
	}
	_, err := j.w.WriteString("}\n")
	return err
}

func (j *jsonRecords) flush() error { return j.w.Flush() }
