from rest_framework import serializers

from tests.factories import QuestionFactory
from tutoring.core.api import ModelSerializer
from tutoring.questions.models import Question


class Drf(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = ["id", "status", "text", "subject", "grade", "created_at"]


class Ours(ModelSerializer):
    class Meta(Drf.Meta):
        pass


class Narrower(Ours):
    class Meta(Drf.Meta):
        fields = ["id", "status"]


def test_a_model_serializer_works_its_fields_out_once_per_class_and_gives_each_instance_its_own(
    db, monkeypatch
) -> None:
    question = QuestionFactory(text="3加5等于几？")
    built = []
    drf_get_fields = serializers.ModelSerializer.get_fields
    monkeypatch.setattr(
        serializers.ModelSerializer, "get_fields", lambda self: built.append(type(self)) or drf_get_fields(self)
    )

    first, second = Ours(question), Ours(question)
    first.fields["text"].label = "changed"

    assert first.data == second.data == Drf(question).data
    assert second.fields["text"].label == Drf(question).fields["text"].label != "changed"
    assert first.fields["status"] is not second.fields["status"]
    assert first.fields["status"].parent is first
    assert list(Narrower(question).data) == ["id", "status"]
    assert built == [Ours, Drf, Drf, Narrower]  # DRF works them out for each instance
