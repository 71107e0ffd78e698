from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects (tenant plane)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from core.signin import signed_in
        from projects import security

        signed_in.connect(security.on_signin, dispatch_uid="tessera.security.signin")
        user_login_failed.connect(security.on_signin_failed, dispatch_uid="tessera.security.signin_failed")
