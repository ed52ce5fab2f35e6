package api

// meetingRoutes serves meeting schedules, the iCalendar export and live meeting rooms.
// BEING BUILT: no routes yet.
func meetingRoutes(nr *nodeRoutes) []Route {
	_ = nr
	return nil
}
