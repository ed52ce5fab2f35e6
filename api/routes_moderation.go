package api

// moderationRoutes serves edits, deletions, removals by moderators, reports, guidelines, mute and block.
// BEING BUILT: no routes yet.
func moderationRoutes(nr *nodeRoutes) []Route {
	_ = nr
	return nil
}
