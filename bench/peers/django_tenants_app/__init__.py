"""The product API on django-tenants (schema per tenant), configured as its docs recommend.

Same views, serializers, models and migrations as Tessera (the `projects`
app as a tenant app), its own control database (`tessera_bench_dt`, public
schema) on the same PostgreSQL server (a). django-tenants switches schemas
with `SET search_path` on a session, which transaction pooling would break,
so it connects to the server directly rather than through PgBouncer.
"""
