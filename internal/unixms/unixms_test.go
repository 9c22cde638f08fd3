package unixms_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/authcube/authcube/internal/unixms"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600))
	assert.Equal(t, at.UTC(), unixms.Time(unixms.Of(at)))
	assert.Zero(t, unixms.Of(time.Time{}))
	assert.True(t, unixms.Time(0).IsZero())
}
