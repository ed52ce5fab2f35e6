package client

import (
	"context"
	"net/http"
)

// ChangePassphrase asks the daemon to re-seal its home's keystore under
// next, after checking current. The daemon answers the code bad_passphrase
// when current is wrong and passphrase_too_short when next is shorter than
// api.MinPassphraseLen characters; in both cases nothing changed.
func (c *Client) ChangePassphrase(ctx context.Context, current, next string) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/passphrase", map[string]string{"current": current, "new": next}, nil)
}
