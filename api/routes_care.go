package api

// careRoutes serves SOS, answers to it, crisis resources and mentorship.
// BEING BUILT: no routes yet.
func careRoutes(nr *nodeRoutes) []Route {
	_ = nr
	return nil
}
