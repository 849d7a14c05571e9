package stampconfig

// DocKeys are the names whose doc comments the reference shows
// ("scaling.Policy.Min"), and the import paths of their packages by
// package name: what TestDocTable reads the source for.
func DocKeys() (keys []string, packages map[string]string) {
	b := build()
	return b.looked, b.packages
}
