"""A local AppSync: the schema's AWS scalars and auth directives, Cognito and API-key
authentication, Lambda resolvers with AppSync's event and error shapes, over HTTP.

`localcloud.graphql_endpoint` is the entry point the local cloud uses; the modules here:

- `scalars`: AWS scalars (AWSDate, AWSEmail, ...) and AppSync directive declarations.
- `auth`: authentication (JWT against the pool's JWKS, API keys) and field rules.
- `engine`: `AppSyncApi`, executing requests and invoking resolver functions.
- `server`: `GraphQLServer`, `POST /graphql` and the GraphiQL page on 127.0.0.1.
"""
