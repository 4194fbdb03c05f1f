package caddymodule

import "strconv"

// svgChart is a bar chart drawn on the server: for each point three bars
// (visitors, sessions, events) scaled to the largest value, in a viewBox
// that the page's CSS stretches to the width of the screen.
type svgChart struct {
	Width, Height int
	Bars          []svgBar
	Labels        []svgLabel
	Max           int64
}

type svgBar struct {
	X, Y, W, H int
	Class      string
	Title      string
}

type svgLabel struct {
	X    int
	Text string
}

// Chart geometry, in viewBox units.
const (
	chartHeight = 120
	chartBar    = 4
	chartGroup  = 3*chartBar + 4
	chartLabels = 6 // labels along the axis at most
)

func barChart(points []seriesPoint) svgChart {
	c := svgChart{Width: len(points) * chartGroup, Height: chartHeight}
	for _, p := range points {
		c.Max = max(c.Max, p.Visitors, p.Sessions, p.Events)
	}
	every := max(1, (len(points)+chartLabels-1)/chartLabels)
	for i, p := range points {
		x := i * chartGroup
		for j, s := range [...]struct {
			class string
			n     int64
		}{{"visitors", p.Visitors}, {"sessions", p.Sessions}, {"events", p.Events}} {
			h := scaled(s.n, c.Max)
			c.Bars = append(c.Bars, svgBar{X: x + j*chartBar, Y: chartHeight - h, W: chartBar, H: h, Class: s.class,
				Title: p.Label + ": " + strconv.FormatInt(s.n, 10) + " " + s.class})
		}
		if i%every == 0 {
			c.Labels = append(c.Labels, svgLabel{X: x, Text: p.Label})
		}
	}
	return c
}

// scaled is n's bar height when top fills the chart; a bar of a value
// above zero stays visible.
func scaled(n, top int64) int {
	if n <= 0 || top <= 0 {
		return 0
	}
	return max(1, int(n*chartHeight/top))
}
