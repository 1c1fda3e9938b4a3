package store

import (
	"errors"
	"fmt"

	"github.com/casebot/casebot"
	"github.com/casebot/casebot/store/kv"
)

// Refusals for engine failures that are no fault of the command: every
// transport shows their sentence (code EUNAVAIL) instead of "Internal
// error.", and the engine's error stays wrapped for the logs and for
// errors.Is(err, kv.ErrUnavailable) / kv.ErrFenced.
var (
	errStoreUnavailable = casebot.Errorf(casebot.EUNAVAIL,
		"The case store cannot be reached right now (its database is unavailable). Try again in a moment.")
	errStoreFenced = casebot.Errorf(casebot.EUNAVAIL,
		"This casebot instance is no longer the leader; nothing was changed.")
)

// engineError maps an engine's failure to reach its database, or a write
// refused by its fence, to a domain refusal wrapping the engine's error.
// Other errors pass unchanged.
func engineError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kv.ErrFenced):
		return fmt.Errorf("%w: %w", errStoreFenced, err)
	case errors.Is(err, kv.ErrUnavailable):
		return fmt.Errorf("%w: %w", errStoreUnavailable, err)
	}
	return err
}
