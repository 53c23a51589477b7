# make image: the Kubernetes node installer image (deploy/kubernetes/Dockerfile), built
# locally with the docker CLI (DOCKER_HOST is honoured) for this host's architecture,
# tagged $(IMAGE):$(VERSION) and $(IMAGE):latest. No registry is involved: push it to
# yours and name it in deploy/kubernetes/installer.yaml (docs/fleet.md).
IMAGE  ?= armhf-shim-installer
DOCKER ?= docker
IMAGE_CONTEXT := bin/image-context

.PHONY: image manifests

image: bin/armhf-shim bin/armhf-runc
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)
	cp bin/armhf-shim bin/armhf-runc $(IMAGE_CONTEXT)/
	$(DOCKER) build -f deploy/kubernetes/Dockerfile -t $(IMAGE):$(VERSION) -t $(IMAGE):latest $(IMAGE_CONTEXT)
	rm -rf $(IMAGE_CONTEXT)

# The manifests of deploy/kubernetes decoded strictly into the k8s.io/api types, in a module
# of their own (test/k8smanifests) so the product's go.mod and binaries never link k8s.io.
manifests:
	cd test/k8smanifests && $(GO) vet ./... && $(GO) test -count=1 ./...
