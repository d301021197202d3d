package tokenbucket

import "time"

// Bucket is a token bucket rate limiter.
type Bucket struct{}

// New returns a full bucket.
func New(capacity int, refillEvery time.Duration, now time.Time) *Bucket {
	panic("implement New")
}

// Allow takes cost tokens if they are available.
func (b *Bucket) Allow(now time.Time, cost int) bool {
	panic("implement Allow")
}

// Tokens reports the tokens available at now.
func (b *Bucket) Tokens(now time.Time) int {
	panic("implement Tokens")
}
