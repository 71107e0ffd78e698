"""Keep Task.search_vector current with a trigger: title weighs A, description B."""

from django.db import migrations

CREATE = """
CREATE FUNCTION projects_task_search_update() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'B');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER projects_task_search_trg
    BEFORE INSERT OR UPDATE OF title, description ON projects_task
    FOR EACH ROW EXECUTE FUNCTION projects_task_search_update();

UPDATE projects_task SET title = title;
"""

DROP = """
DROP TRIGGER IF EXISTS projects_task_search_trg ON projects_task;
DROP FUNCTION IF EXISTS projects_task_search_update();
"""


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
