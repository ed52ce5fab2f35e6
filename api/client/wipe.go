package client

import (
	"context"
	"net/http"
)

// Wipe asks the daemon to destroy its home: the keys first, so everything
// becomes unreadable at once, then the files; the daemon stops after
// answering. confirm must be api.WipeConfirmation ("WIPE"), typed by the
// member: the daemon refuses anything else with the code not_confirmed.
func (c *Client) Wipe(ctx context.Context, confirm string) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/wipe", map[string]string{"confirm": confirm}, nil)
}
