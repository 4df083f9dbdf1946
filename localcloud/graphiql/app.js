/*
 * GraphiQL against the local AppSync endpoint.
 *
 * AppSync authenticates a request by ONE mode: a Cognito ID or access token in the
 * Authorization header, or an API key in x-api-key. The bar above the editor sets one of
 * them (the token wins, as on the server); headers typed in GraphiQL's header editor
 * override both. Credentials stay in this browser's sessionStorage only.
 *
 * The schema comes from /graphiql/introspection.json, so the explorer and autocompletion
 * work before a credential is entered.
 */
(function () {
  'use strict';

  var ENDPOINT = '/graphql';
  var DEFAULT_QUERY = [
    '# Paste a Cognito token or the API key above, then run.',
    '# With the API key, private profile fields read as null',
    '# with an Unauthorized error, as in AppSync.',
    'query Profile($username: String!) {',
    '  getUser(username: $username) {',
    '    username',
    '    firstName',
    '    city',
    '    averageRating',
    '    email',
    '  }',
    '}',
    '',
  ].join('\n');

  var tokenInput = document.getElementById('token');
  var apiKeyInput = document.getElementById('apiKey');
  var modeLabel = document.getElementById('mode');

  function remember(input, key) {
    input.value = sessionStorage.getItem(key) || '';
    input.addEventListener('input', function () {
      sessionStorage.setItem(key, input.value.trim());
      showMode();
    });
  }

  function credentialHeaders() {
    var token = tokenInput.value.trim();
    var apiKey = apiKeyInput.value.trim();
    if (token) return { Authorization: token };
    if (apiKey) return { 'x-api-key': apiKey };
    return {};
  }

  function showMode() {
    var headers = credentialHeaders();
    modeLabel.textContent = headers.Authorization
      ? 'mode: AMAZON_COGNITO_USER_POOLS'
      : headers['x-api-key'] ? 'mode: API_KEY' : 'no credentials: requests get 401';
  }

  function fetcher(params, options) {
    var extra = (options && options.headers) || {};
    var headers = Object.assign({ 'Content-Type': 'application/json' }, credentialHeaders(), extra);
    return fetch(ENDPOINT, { method: 'POST', headers: headers, body: JSON.stringify(params) })
      .then(function (response) { return response.json(); });
  }

  function loadSchema() {
    return fetch('/graphiql/introspection.json').then(function (response) {
      if (!response.ok) throw new Error('introspection: HTTP ' + response.status);
      return response.json();
    });
  }

  function renderGraphiQL(schema) {
    var root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        schema: schema,
        defaultQuery: DEFAULT_QUERY,
        defaultHeaders: '',
        variables: '{\n  "username": "ann"\n}',
        shouldPersistHeaders: false,
      })
    );
  }

  // Without the npm packages: a plain editor that still sends real requests.
  function renderFallback() {
    var host = document.getElementById('graphiql');
    host.innerHTML = '';
    var box = document.createElement('div');
    box.className = 'fallback';
    var left = document.createElement('div');
    left.className = 'left';
    var query = document.createElement('textarea');
    query.value = DEFAULT_QUERY;
    query.setAttribute('aria-label', 'query');
    var variables = document.createElement('textarea');
    variables.value = '{\n  "username": "ann"\n}';
    variables.rows = 5;
    variables.setAttribute('aria-label', 'variables');
    var run = document.createElement('button');
    run.type = 'button';
    run.textContent = 'Run';
    var note = document.createElement('p');
    note.textContent = 'GraphiQL is not installed (npm packages graphiql, react, react-dom); ' +
      'this plain editor talks to the same endpoint.';
    var output = document.createElement('pre');
    run.addEventListener('click', function () {
      var vars;
      try {
        vars = variables.value.trim() ? JSON.parse(variables.value) : null;
      } catch (error) {
        output.textContent = 'variables: ' + error.message;
        return;
      }
      fetcher({ query: query.value, variables: vars })
        .then(function (body) { output.textContent = JSON.stringify(body, null, 2); })
        .catch(function (error) { output.textContent = String(error); });
    });
    left.append(query, variables, run, note);
    box.append(left, output);
    host.append(box);
  }

  remember(tokenInput, 'localAppSync.token');
  remember(apiKeyInput, 'localAppSync.apiKey');
  showMode();
  document.getElementById('credentials').addEventListener('submit', function (event) {
    event.preventDefault();
  });

  if (window.React && window.ReactDOM && window.GraphiQL) {
    loadSchema().then(renderGraphiQL, function (error) {
      console.error(error);
      renderGraphiQL(undefined); // GraphiQL then introspects through the fetcher
    });
  } else {
    renderFallback();
  }
})();
