package outbox

// Delivery outcomes passed to Worker.OnResult.
const (
	ResultSent   = "sent"   // the remote side accepted the message
	ResultFailed = "failed" // an attempt failed; the message will be retried
	ResultDead   = "dead"   // the message was given up on
)

// Metrics is called once per delivery attempt with the message kind
// (casebot.OutSlack, casebot.OutEmail) and one of the Result* outcomes.
// cmd/casebot turns it into Prometheus counters; outbox depth comes from the
// store's OutboxDepth at scrape time.
type Metrics func(kind, result string)

func (m Metrics) sent(kind string)   { m.call(kind, ResultSent) }
func (m Metrics) failed(kind string) { m.call(kind, ResultFailed) }
func (m Metrics) dead(kind string)   { m.call(kind, ResultDead) }

func (m Metrics) call(kind, result string) {
	if m != nil {
		m(kind, result)
	}
}
