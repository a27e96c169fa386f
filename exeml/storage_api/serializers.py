from rest_framework import serializers


class FolderCreateSerializer(serializers.Serializer):
    path = serializers.CharField()


class StorageObjectSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    mtime = serializers.DateTimeField()


class BrowseSerializer(serializers.Serializer):
    path = serializers.CharField()
    folders = serializers.ListField(child=serializers.CharField())
    objects = StorageObjectSerializer(many=True)
    next_token = serializers.CharField(allow_null=True)


class ObjectUploadSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="the file's full path, s3://bucket/folder/name.csv (CSV files only)")
    file = serializers.FileField()
    overwrite = serializers.BooleanField(default=False)
