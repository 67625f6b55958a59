// Reads a served OME-TIFF cross-origin the way Avivator (geotiff.js) does and
// writes what the browser let it see into <pre id="result"> as JSON.
// The plan comes in location.hash as URI-encoded JSON:
//   {offsetsUrl, tifUrl, ranges: [[start, end], ...], preflightHeaders, forbiddenHeaders}

async function sha256hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// One fetch; never throws: a CORS refusal becomes {error: "..."}.
async function probe(url, headers) {
  try {
    const response = await fetch(url, { headers: headers || {}, cache: "no-store" });
    const body = await response.arrayBuffer();
    const type = response.headers.get("content-type") || "";
    return {
      status: response.status,
      contentRange: response.headers.get("content-range"),
      contentLength: response.headers.get("content-length"),
      acceptRanges: response.headers.get("accept-ranges"),
      etag: response.headers.get("etag"),
      contentType: type,
      length: body.byteLength,
      sha256: await sha256hex(body),
      text: type.includes("json") ? new TextDecoder().decode(body) : null,
    };
  } catch (err) {
    return { error: `${err.name}: ${err.message}` };
  }
}

async function main() {
  const plan = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const result = { origin: location.origin, secure: window.isSecureContext };
  result.offsets = await probe(plan.offsetsUrl);
  if (typeof result.offsets.text === "string") {
    try {
      result.offsets.json = JSON.parse(result.offsets.text);
    } catch (err) {
      result.offsets.json = null;
    }
  }
  result.ranges = [];
  for (const [start, end] of plan.ranges) {
    result.ranges.push(await probe(plan.tifUrl, { Range: `bytes=${start}-${end}` }));
  }
  result.preflighted = await probe(plan.tifUrl, plan.preflightHeaders);
  result.forbidden = await probe(plan.tifUrl, plan.forbiddenHeaders);
  return result;
}

main()
  .catch((err) => ({ crashed: `${err.name}: ${err.message}` }))
  .then((result) => {
    document.getElementById("result").textContent = JSON.stringify(result);
  });
