// Command etcd is the upstream etcd server, built from its library entry point because the
// etcd main module cannot be built with `go build module@version` (it uses replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
