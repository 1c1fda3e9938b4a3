package bot

import (
	"context"
	"fmt"
)

// digestOff is the refusal of digest while Config.Digests is nil.
const digestOff = "digests are not configured on this casebot."

func handleDigest(ctx context.Context, r *Request) Reply {
	ds := r.bot.cfg.Digests
	if ds == nil {
		return featureOff(digestOff)
	}
	dg, err := ds.DigestNow(ctx, r.Actor.ID, r.Now)
	if err != nil {
		return r.Fail(fmt.Errorf("bot: digest for %s: %w", r.Actor.ID, err))
	}
	return Reply{Text: RenderDigest(&dg)}
}
