// Package k8smanifests validates deploy/kubernetes against the Kubernetes
// API types. It is a module of its own so that k8s.io/api, which is large,
// never enters the product's go.mod or binaries.
package k8smanifests
