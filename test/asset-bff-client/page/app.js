// The front end of the browser test: logs a simulated user in through the page's own origin (which forwards
// to the portal simulator), then reads asset-bff on its other origin with the bundled @asset-bff/client.
'use strict';
(async () => {
  const config = Object.fromEntries(new URLSearchParams(location.search));
  const results = {};
  const show = () => (document.getElementById('out').textContent = JSON.stringify(results));
  const portal = async (path, body, token) => {
    const res = await fetch(`/portal/app-portal-service/v2.2/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const envelope = await res.json();
    if (envelope.code !== 0) throw new Error(`${path}: ${envelope.code}`);
    return envelope.data.accessToken;
  };
  try {
    // Log In, then Choose Organization: the token of the user in that OU.
    const loginToken = await portal('login', { account: config.user, password: config.password });
    const token = await portal('session/set', { orgId: config.org }, loginToken);
    // The page's own fetch handed in, as an app that wraps or polyfills it does.
    const client = new AssetBff.AssetBffClient({ baseUrl: config.bff, token, headers: { traceparent: config.traceparent }, fetch: globalThis.fetch });

    const first = await client.myAssets({ lang: 'en_US' });
    results.first = { total: first.total, ids: first.assets.map((a) => a.id) };
    document.getElementById('assets').innerHTML = first.assets.map((a) => `<li>${a.name}</li>`).join('');
    results.pages = [];
    for await (const page of client.myAssetPages({ limit: 2 })) results.pages.push(page.assets.map((a) => a.id));
    const found = await client.myAssets({ q: config.q });
    results.search = { total: found.total, ids: found.assets.map((a) => a.id) };
    // The client's own revalidation: If-None-Match from its ETag cache, a 304, the kept answer.
    const again = await client.myAssets({ lang: 'en_US' });
    results.againSame = JSON.stringify(again) === JSON.stringify(first);

    // A plain re-read: the browser's HTTP cache revalidates by itself (private, no-cache + ETag).
    const plain = async () => {
      const res = await fetch(`${config.bff}/v1/me/assets?lang=en_US`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, etag: res.headers.get('etag'), requestId: res.headers.get('x-request-id'), total: (await res.json()).total };
    };
    results.plain = [await plain(), await plain()];

    try {
      await new AssetBff.AssetBffClient({ baseUrl: config.bff, token: 'not-a-token' }).myAssets();
      results.error = 'none';
    } catch (e) {
      results.error = { isAssetBffError: e instanceof AssetBff.AssetBffError, status: e.status, code: e.code, requestId: typeof e.requestId };
    }
  } catch (e) {
    results.failed = `${e.name}: ${e.message}`;
  }
  results.done = true;
  show();
})();
