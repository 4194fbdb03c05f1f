package sessionstore

import (
	"context"
	"time"
)

// These read the dashboard's aggregates for operators. Each hands over what
// visits added so far first, so that a reader sees every visit answered
// before it asked.

// Days returns the stored days of site from from's UTC day to to's,
// oldest first.
func (s *Store) Days(ctx context.Context, site string, from, to time.Time) ([]Day, error) {
	a, err := s.aggregatorNow(ctx)
	if err != nil {
		return nil, err
	}
	return a.Days(ctx, site, DayStart(from), DayStart(to))
}

// Sites lists the sites with aggregates from from's UTC day to to's.
func (s *Store) Sites(ctx context.Context, from, to time.Time) ([]string, error) {
	a, err := s.aggregatorNow(ctx)
	if err != nil {
		return nil, err
	}
	return a.Sites(ctx, DayStart(from), DayStart(to))
}

// UniqueClients estimates the distinct clients of site over the days
// from..to; ErrUnsupported when the back end counts days only.
func (s *Store) UniqueClients(ctx context.Context, site string, from, to time.Time) (int64, error) {
	a, err := s.aggregatorNow(ctx)
	if err != nil {
		return 0, err
	}
	c, ok := a.(ClientCounter)
	if !ok {
		return 0, ErrUnsupported
	}
	return c.UniqueClients(ctx, site, DayStart(from), DayStart(to))
}

func (s *Store) aggregatorNow(ctx context.Context) (Aggregator, error) {
	a, err := s.way.aggregator()
	if err != nil {
		return nil, err
	}
	return a, s.handOver(ctx)
}
