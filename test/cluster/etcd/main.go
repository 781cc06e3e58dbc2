// Command etcd is the etcd 3.6 server built from its published module: etcd's own main package
// lives in a module that replaces its siblings with local paths, so it cannot be built with
// `go build module@version`; this main does what that one does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
