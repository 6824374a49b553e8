// Command csi-mock serves Kubernetes' e2e mock CSI driver on a unix socket, so the local
// cluster can provision volumes and take VolumeSnapshots without a real storage backend.
// Volumes and snapshots live in memory only.
//
// Tests inject real snapshot failures with a switch: while the file named by
// --fail-create-snapshot-file exists, CreateSnapshot fails as a broken backend would.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/driver"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/mock/service"
)

// failingController fails CreateSnapshot while the switch file exists; everything else is the mock's.
type failingController struct {
	csi.ControllerServer
	switchFile string
}

func (c failingController) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if c.switchFile != "" {
		if _, err := os.Stat(c.switchFile); err == nil {
			return nil, status.Errorf(codes.Internal, "injected failure: %s exists", c.switchFile)
		}
	}
	return c.ControllerServer.CreateSnapshot(ctx, req)
}

func main() {
	endpoint := flag.String("endpoint", "", "path of the unix socket to serve CSI on")
	name := flag.String("name", "mock.csi.maintenance.ops.dev", "CSI driver name")
	failFile := flag.String("fail-create-snapshot-file", "", "CreateSnapshot fails while this file exists")
	flag.Parse()
	if *endpoint == "" {
		log.Fatal("--endpoint is required")
	}
	// A socket left behind by a killed driver would make Listen fail.
	if err := os.Remove(*endpoint); err != nil && !os.IsNotExist(err) {
		log.Fatalf("removing stale socket: %v", err)
	}
	listener, err := net.Listen("unix", *endpoint)
	if err != nil {
		log.Fatalf("listening on %s: %v", *endpoint, err)
	}
	svc := service.New(service.Config{
		DriverName:           *name,
		DisableAttach:        true,
		PermissiveTargetPath: true,
	})
	controller := failingController{ControllerServer: svc, switchFile: *failFile}
	csiDriver := driver.NewCSIDriver(&driver.CSIDriverServers{Controller: controller, Identity: svc, Node: svc})
	if err := csiDriver.Start(listener, nil); err != nil {
		log.Fatalf("starting driver: %v", err)
	}
	log.Printf("mock CSI driver %s serving on %s", *name, *endpoint)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	csiDriver.Stop()
	_ = os.Remove(*endpoint)
}
