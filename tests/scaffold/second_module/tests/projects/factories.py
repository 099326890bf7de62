import factory

from app.projects.models import Project, ProjectTask
from tests.auth.factories.user import UserFactory
from tests.factories.async_alchemy_factory import AsyncSQLAlchemyModelFactory


async def new_owner_id() -> int:
    """A real user to own the row, unless the test names one (``owner_id=user.id``)."""
    owner = await UserFactory.create()
    return int(owner.id)


class ProjectFactory(AsyncSQLAlchemyModelFactory):
    class Meta:
        model = Project

    name = factory.Faker("sentence", nb_words=3)
    description = factory.Faker("paragraph")
    owner_id = factory.LazyFunction(new_owner_id)
    is_public = False


async def new_project_id() -> int:
    project = await ProjectFactory.create()
    return int(project.id)


class ProjectTaskFactory(AsyncSQLAlchemyModelFactory):
    class Meta:
        model = ProjectTask

    title = factory.Faker("sentence", nb_words=4)
    project_id = factory.LazyFunction(new_project_id)
