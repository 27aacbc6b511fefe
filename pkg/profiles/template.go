package profiles

// Template is a commented ServiceProfile to fill in by hand; format it with the profile's name
// and namespace. Like `linkerd profile --template`, it shows every field Linkerd reads.
const Template = `# A ServiceProfile to edit. The proxy uses the FIRST route whose condition matches the whole
# request path, so put specific routes before general ones. trafficctl lint FILE checks it.
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: %s
  namespace: %s
spec:
  routes:
  - name: GET /api/items/{id}
    condition:
      method: GET
      # A regular expression for the whole path: escape dots, use [^/]+ for one segment.
      pathRegex: /api/items/[0-9]+
    # Responses that count as failures for metrics and retries (default: status 5xx).
    responseClasses:
    - condition:
        status:
          min: 500
          max: 599
      isFailure: true
    isRetryable: true
    timeout: 2s
  # Retries may add at most retryRatio extra load, plus minRetriesPerSecond, over ttl.
  retryBudget:
    retryRatio: 0.2
    minRetriesPerSecond: 10
    ttl: 10s
`
