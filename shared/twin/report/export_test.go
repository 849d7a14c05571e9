package report

// LongRuns exports longRuns to the black-box tests.
var LongRuns = longRuns
