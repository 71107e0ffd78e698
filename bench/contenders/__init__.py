"""The three web apps of the tenancy-overhead benchmark, each served by gunicorn.

* `settings_on`: Tessera as shipped (tenant middleware, router, replicas, PgBouncer).
* `settings_off`: the same views and models on one database, no tenancy at all.
* `bench.peers.django_tenants_app.settings`: the same views and models on
  django-tenants (schema per tenant).

All three differ from the shipped settings in the same two ways: throttling is
off (DRF's throttle stores a timestamp per request in Redis, which measures
the load client, not tenancy) and logging is WARNING.
"""
