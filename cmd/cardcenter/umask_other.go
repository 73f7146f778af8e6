//go:build !unix

package main

// privateUmask: there is no umask outside Unix.
func privateUmask() {}
