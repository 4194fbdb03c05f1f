package caddymodule

import (
	"encoding/csv"
	"fmt"
	"strings"
)

// csvRecords writes a header row, then one row per record; an absent value
// is an empty cell, and a text cell is written as a spreadsheet must read
// it (spreadsheetText).
type csvRecords struct {
	w      *csv.Writer
	header bool
}

func (c *csvRecords) write(r record) error {
	if !c.header {
		c.header = true
		names := make([]string, len(r))
		for i, f := range r {
			names[i] = f.name
		}
		if err := c.w.Write(names); err != nil {
			return err
		}
	}
	cells := make([]string, len(r))
	for i, f := range r {
		switch v := f.value.(type) {
		case nil:
		case string:
			cells[i] = spreadsheetText(v)
		default:
			cells[i] = fmt.Sprint(v)
		}
	}
	return c.w.Write(cells)
}

func (c *csvRecords) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// formulaStarts are the first characters that make a spreadsheet run a
// cell as a formula (OWASP, CSV Injection): = + - @, tab and carriage
// return.
const formulaStarts = "=+-@\t\r"

// spreadsheetText is a text cell that no spreadsheet runs as a formula:
// when it starts with one of formulaStarts, a single quote goes before it,
// which spreadsheets read as "text follows" (OWASP's rule). So does each
// part of it after a ';': a spreadsheet whose list separator is ';' (the
// default in much of Europe) splits this comma-separated file's lines at
// every ';', quoted or not, and would start a cell there.
func spreadsheetText(s string) string {
	if !strings.ContainsAny(s, formulaStarts) {
		return s // nearly every cell: nothing to neutralise
	}
	parts := strings.Split(s, ";")
	for i, p := range parts {
		if startsFormula(p) {
			parts[i] = "'" + p
		}
	}
	return strings.Join(parts, ";")
}

// startsFormula reports whether a cell would start a formula once the
// spaces and double quotes before it are gone: a spreadsheet that splits at
// ';' reads a quote there as the start of a quoted cell (`x;"=2+3`), and
// some trim the spaces before a formula.
func startsFormula(cell string) bool {
	cell = strings.TrimLeft(cell, ` "`)
	return cell != "" && strings.IndexByte(formulaStarts, cell[0]) >= 0
}
